"""The command line (`toktool ...`): parse, call the library, render. See app.py."""
