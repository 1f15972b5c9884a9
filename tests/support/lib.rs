//! Shared support for the integration tests: where the local stack is, SDK clients
//! pointed at it, and template.yaml parsed (CloudFormation tags tolerated).

#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod cli;
pub mod e2e;
pub mod months;
pub mod source;
pub mod stack;
pub mod template;
pub mod tree;
