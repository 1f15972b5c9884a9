//! Integration tests (under construction).
