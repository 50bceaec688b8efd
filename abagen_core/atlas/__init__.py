"""Atlases: label images and region tables, sample-to-region matching, masks."""
