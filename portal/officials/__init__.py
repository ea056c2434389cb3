"""The officials and entities registry, links from reports, dossiers, and the letter's campaigns."""
