//! AWS adapters (under construction).
