//! RESP2/RESP3 on the wire: the request decoder (multibulk and inline, with Redis's limits),
//! the reply encoder, the shared argument tokenizer, and every error string sent to clients.
//! Knows nothing of the keyspace or of commands.

pub mod decode;
pub mod errors;
pub mod reply;
pub mod splitargs;

pub use decode::{Decoded, Decoder, Limits, ProtocolError};
pub use reply::Reply;
