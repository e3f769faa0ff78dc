"""Pure formats: CIDs and UnixFS, rows, RFC 9162 trees, recipes, Croissant, encryption. No
I/O beyond the files handed in; no chain or network library.
"""
