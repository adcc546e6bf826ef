"""Amazon Pay through the PPRO Global API: a psp provider plugin (work in progress)."""
