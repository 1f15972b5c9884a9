//! Telnyx simulator (under construction).
