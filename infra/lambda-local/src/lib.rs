//! The function binaries, run as AWS Lambda runs them — without AWS.
//!
//! - [`runtime`]: a local Lambda Runtime API (`/2018-06-01/runtime/...`) that hands a
//!   binary its invocations with a deadline, waits for its response or error, and
//!   treats a missed deadline as a timeout (the process is killed, as a sandbox is).
//! - [`function`]: one binary under that API: spawned with the Lambda environment,
//!   its log lines kept, its cold start timed, its memory read.
//! - [`sqs`]: an SQS event source: receive from a queue, deliver one message per
//!   invocation as an SQS event, delete what the function acknowledged, leave the
//!   rest for redelivery.

pub mod function;
pub mod runtime;
pub mod sqs;

pub use function::{Function, FunctionError};
pub use runtime::{Invocation, InvokeError, RuntimeApi};
pub use sqs::{Delivery, SqsEventSource};
