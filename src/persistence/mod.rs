//! Persistence: Redis's RDB format (values, DUMP payloads, files) and the save and load
//! machinery around it. Depends on `store` for the values it serializes; knows nothing of
//! sockets or RESP.

pub mod listpack;
pub mod rdb;
