//! Every fixed error string the server replies, in one place, exactly as Redis 7.0 words it.
//! Messages carry their code (`ERR`, `WRONGTYPE`, ...) and no leading `-` or trailing CRLF.
//! Messages with arguments are built by the functions at the bottom.
//!
//! Sections per command family keep concurrent additions apart.

// ---- server, introspection, debug (cmd/server.rs, cmd/debug.rs) ----
pub const NO_SHUTDOWN_IN_PROGRESS: &str = "ERR No shutdown in progress.";
pub const SHUTDOWN_ERRORS: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
pub const INVALID_COMMAND_SPECIFIED: &str = "ERR Invalid command specified";
pub const COMMAND_HAS_NO_KEYS: &str = "ERR The command has no key arguments";
pub const INVALID_GETKEYS_ARITY: &str = "ERR Invalid number of arguments specified for command";
pub const INVALID_GETKEYS_ARGS: &str = "ERR Invalid arguments specified for command";
pub const SLOWLOG_COUNT: &str = "ERR count should be greater than or equal to -1";
pub const RESP2_NOT_SUPPORTED: &str = "ERR RESP2 is not supported by this command";
pub const DEBUG_PROTOCOL_TYPE: &str = "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false";
pub const DEBUG_RELOAD_OPTIONS: &str = "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.";
pub const NO_PERSISTENCE: &str = "ERR rusty-redis-server has no persistence yet: RDB and AOF are not implemented";
pub const PACKED_THRESHOLD: &str = "ERR argument must be a memory value bigger than 1 and smaller than 4gb";
pub const NOT_LISTPACK: &str = "ERR Not a listpack encoded object.";
pub const NOT_QUICKLIST: &str = "ERR Not a quicklist encoded object.";
pub const NOT_SDS_STRING: &str = "ERR Not an sds encoded string.";
pub const OUT_OF_RANGE_DB: &str = "ERR Out of range database";
pub const NOT_HASHTABLE: &str = "ERR The value stored at the specified key is not represented using an hash table";
pub const MAXMEMORY_CLIENTS_DISABLED: &str = "ERR maxmemory-clients is disabled.";
pub const PURGE_FAILED: &str = "ERR Error purging dirty pages";


/// `ERR No samples available for event 'x'`
pub fn no_latency_samples(event: &[u8]) -> String {
    format!("ERR No samples available for event '{}'", String::from_utf8_lossy(event))
}

// ---- shared ----
pub const SYNTAX: &str = "ERR syntax error";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const OUT_OF_RANGE_INDEX: &str = "ERR index out of range";
pub const DB_INDEX_OUT_OF_RANGE: &str = "ERR DB index is out of range";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const NO_PASSWORD_SET: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";
pub const INTERNAL_SHARD: &str = "ERR internal error: key outside the locked shards";
pub const POSITIVE: &str = "ERR value is out of range, must be positive";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const NUMKEYS_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const COUNT_POSITIVE: &str = "ERR count should be greater than 0";
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";

// ---- persistence (cmd/persist.rs) ----
pub const ERR: &str = "ERR";
pub const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
pub const RESTORE_TTL: &str = "ERR Invalid TTL value, must be >= 0";
pub const RESTORE_IDLETIME: &str = "ERR Invalid IDLETIME value, must be >= 0";
pub const RESTORE_FREQ: &str = "ERR Invalid FREQ value, must be >= 0 and <= 255";
pub const DUMP_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
pub const BAD_DATA_FORMAT: &str = "ERR Bad data format";
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";
pub const BGSAVE_IN_PROGRESS: &str = "ERR Background save already in progress";
/// BGSAVE while an AOF rewrite runs (one background job at a time, as Redis's one child).
pub const BGSAVE_OTHER_CHILD: &str = "ERR Another child process is active (AOF?): can't BGSAVE \
                                      right now. Use BGSAVE SCHEDULE in order to schedule a \
                                      BGSAVE whenever possible.";
pub const MIGRATE_KEYS_EMPTY: &str = "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
pub const MIGRATE_CONNECT: &str = "IOERR error or timeout connecting to the client";
pub const MIGRATE_READING: &str = "IOERR error or timeout reading to target instance";
pub const MIGRATE_WRITING: &str = "IOERR error or timeout writing to target instance";
pub const DEBUG_RELOAD_FAILED: &str = "ERR Error trying to load the RDB dump, check server logs.";
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

// ---- blocking commands (cmd/blocking.rs) ----
pub const UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

// ---- strings (cmd/string.rs) ----
pub const INCR_OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const DECR_OVERFLOW: &str = "ERR decrement would overflow";
pub const INCR_NAN: &str = "ERR increment would produce NaN or Infinity";
pub const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";
pub const LCS_LEN_AND_IDX: &str =
    "ERR If you want both the length and indexes, please just use IDX.";
pub const LCS_TOO_LONG: &str = "ERR String too long for LCS";
pub const LCS_TABLE_TOO_BIG: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
pub const LCS_ALLOC_FAILED: &str =
    "ERR Insufficient memory, failed allocating transient memory for LCS";

// ---- hashes (cmd/hash.rs) ----
pub const HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
pub const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
pub const HASH_NAN_OR_INF: &str = "ERR value is NaN or Infinity";
pub const HASH_COUNT_RANGE: &str = "ERR value is out of range";

// ---- keys and expiry (cmd/keys.rs, cmd/sort.rs) ----
pub const SORT_NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const INVALID_FIRST_DB: &str = "ERR invalid first DB index";
pub const INVALID_SECOND_DB: &str = "ERR invalid second DB index";
pub const EXPIRE_NX_AND_OTHERS: &str =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const EXPIRE_GT_AND_LT: &str = "ERR GT and LT options at the same time are not compatible";
pub const IDLETIME_UNDER_LFU: &str = "ERR An LFU maxmemory policy is selected, idle time not \
    tracked. Please note that when switching between policies at runtime LRU and LFU data will \
    take some time to adjust.";
pub const FREQ_WITHOUT_LFU: &str = "ERR An LFU maxmemory policy is not selected, access frequency \
    not tracked. Please note that when switching between policies at runtime LRU and LFU data \
    will take some time to adjust.";

// ---- sets (cmd/set.rs) ----

pub const SET_NUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
// ---- sorted sets (cmd/zset.rs) ----
pub const ZADD_NX_XX: &str = "ERR XX and NX options at the same time are not compatible";
pub const ZADD_GT_LT_NX: &str =
    "ERR GT, LT, and/or NX options at the same time are not compatible";
pub const ZADD_INCR_PAIR: &str = "ERR INCR option supports a single increment-element pair";
pub const ZSCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
pub const ZRANGE_NOT_FLOAT: &str = "ERR min or max is not a float";
pub const ZRANGE_NOT_LEX: &str = "ERR min or max not valid string range item";
pub const ZRANGE_LIMIT_RANK: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
pub const ZRANGE_WITHSCORES_LEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
pub const WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";
pub const VALUE_OUT_OF_RANGE: &str = "ERR value is out of range";

/// `ERR at least 1 input key is needed for 'zunion' command`
pub fn zset_at_least_one_key(cmd: &str) -> String {
    format!("ERR at least 1 input key is needed for '{cmd}' command")
}

// ---- connection and server (cmd/connection.rs, cmd/server.rs) ----
pub const DEBUG_DISABLED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

pub const NOPROTO: &str = "NOPROTO unsupported protocol version";
pub const HELLO_PROTO_NOT_INT: &str = "ERR Protocol version is not an integer or out of range";
pub const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
pub const BAD_CLIENT_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
pub const RESET_NOT_NORMAL: &str = "ERR can only reset normal client connections";
pub const NO_SUCH_CLIENT: &str = "ERR No such client";
pub const CLIENT_ID_POSITIVE: &str = "ERR client-id should be greater than 0";
pub const INVALID_CLIENT_ID: &str = "ERR Invalid client ID";
pub const PAUSE_MODE: &str = "ERR CLIENT PAUSE mode must be WRITE or ALL";
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
pub const UNBLOCK_REASON: &str = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
pub const CACHING_NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";
pub const TRACKING_REDIR_ONE: &str = "ERR A client can only redirect to a single other client";
pub const TRACKING_REDIR_MISSING: &str =
    "ERR The client ID you want redirect to does not exist";
pub const TRACKING_PREFIX_BCAST: &str = "ERR PREFIX option requires BCAST mode to be enabled";
pub const TRACKING_BCAST_OPTIN: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
pub const TRACKING_OPTIN_OPTOUT: &str = "ERR You can't specify both OPTIN mode and OPTOUT mode";
pub const TRACKING_BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
pub const TRACKING_OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
pub const CACHING_YES_OPTIN: &str =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
pub const CACHING_NO_OPTOUT: &str =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";

/// `ERR Syntax error in HELLO option 'x'`
pub fn hello_syntax(opt: &[u8]) -> String {
    format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(opt))
}

/// `ERR Unknown client type 'x'`
pub fn unknown_client_type(name: &[u8]) -> String {
    format!("ERR Unknown client type '{}'", String::from_utf8_lossy(name))
}

/// `ERR No such user 'x'`
pub fn no_such_user(name: &[u8]) -> String {
    format!("ERR No such user '{}'", String::from_utf8_lossy(name))
}

/// `ERR unknown subcommand or wrong number of arguments for 'x'. Try CLIENT HELP.`
pub fn subcommand_syntax(sub: &[u8], cmd: &[u8]) -> String {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)]),
        String::from_utf8_lossy(cmd).to_ascii_uppercase()
    )
}

/// `ERR lib-name cannot contain spaces, newlines or special characters.` (CLIENT SETINFO, 7.2)
pub fn bad_client_attr(attr: &[u8]) -> String {
    format!(
        "ERR {} cannot contain spaces, newlines or special characters.",
        String::from_utf8_lossy(attr)
    )
}

/// `ERR Unrecognized option 'x'` (CLIENT SETINFO, 7.2)
pub fn unrecognized_option(opt: &[u8]) -> String {
    format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(opt))
}

/// `ERR value is out of range, value must between -2147483648 and 2147483647`
pub fn out_of_range_between(min: i64, max: i64) -> String {
    format!("ERR value is out of range, value must between {min} and {max}")
}

// ---- lists (cmd/list.rs) ----
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";

// ---- transactions (cmd/multi.rs, command/dispatch.rs) ----
pub const MULTI_NESTED: &str = "ERR MULTI calls can not be nested";
pub const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
// ---- pub/sub (cmd/pubsub.rs, command/dispatch.rs) ----
/// `ERR Can't execute 'get': only (P|S)SUBSCRIBE / ... are allowed in this context` (RESP2
/// subscribed mode; `cmd` is the full name, `client|list` for a subcommand).
pub fn subscribed_context(cmd: &str) -> String {
    format!(
        "ERR Can't execute '{cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
         are allowed in this context"
    )
}

// ---- AOF (cmd/aof.rs, persistence/aof) ----
pub const AOF_REWRITE_IN_PROGRESS: &str =
    "ERR Background append only file rewriting already in progress";
pub const AOF_REWRITE_FAILED: &str = "ERR Can't execute an AOF background rewriting. Please check \
    the server logs for more information.";

// ---- config (config/) ----

// ---- messages with arguments ----

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' `, as Redis builds it: the name
/// and each argument cut to 128 bytes, at most the first few arguments shown.
pub fn unknown_command(name: &[u8], args: &[&[u8]]) -> String {
    let mut listed: Vec<u8> = Vec::new();
    for a in args {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push(b'\'');
        listed.extend_from_slice(&a[..a.len().min(room)]);
        listed.extend_from_slice(b"' ");
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {}",
        String::from_utf8_lossy(&name[..name.len().min(128)]),
        String::from_utf8_lossy(&listed)
    )
}

/// `ERR wrong number of arguments for 'get' command`
pub fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{}' command", name.to_ascii_lowercase())
}

/// `ERR unknown subcommand 'x'. Try CONFIG HELP.`
pub fn unknown_subcommand(sub: &[u8], parent: &str) -> String {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
    format!("ERR unknown subcommand '{}'. Try {} HELP.", sub, parent.to_ascii_uppercase())
}

/// `ERR invalid expire time in 'set' command`
pub fn invalid_expire(cmd: &str) -> String {
    format!("ERR invalid expire time in '{}' command", cmd.to_ascii_lowercase())
}

/// `ERR Unsupported option AB` (EXPIRE and friends).
pub fn unsupported_option(opt: &[u8]) -> String {
    format!("ERR Unsupported option {}", String::from_utf8_lossy(opt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_text() {
        assert_eq!(
            unknown_command(b"foo", &[b"bar", b"baz"]),
            "ERR unknown command 'foo', with args beginning with: 'bar' 'baz' "
        );
        assert_eq!(unknown_command(b"foo", &[]), "ERR unknown command 'foo', with args beginning with: ");
    }
}
