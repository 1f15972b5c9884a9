//! Telnyx API client (under construction).
