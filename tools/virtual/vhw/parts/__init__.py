"""Virtual parts: they attach to the board's pins and behave like the real chips."""
