//! Decoding errors. Every error carries the NOTIFICATION the peer must be sent
//! (RFC 4271 section 6) or, for UPDATE attribute errors that RFC 7606 turns into
//! treat-as-withdraw or attribute-discard, the code/subcode that RFC 4271 would
//! have used (for logs and counters).

use std::fmt;

/// NOTIFICATION error codes (RFC 4271 section 4.5, RFC 4486, RFC 7313).
pub mod code {
    pub const HEADER: u8 = 1;
    pub const OPEN: u8 = 2;
    pub const UPDATE: u8 = 3;
    pub const HOLD_TIMER: u8 = 4;
    pub const FSM: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH: u8 = 7;
}

/// Message Header Error subcodes (RFC 4271 section 6.1).
pub mod header {
    pub const NOT_SYNCHRONIZED: u8 = 1;
    pub const BAD_LENGTH: u8 = 2;
    pub const BAD_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 section 6.2, RFC 5492).
pub mod open {
    pub const UNSUPPORTED_VERSION: u8 = 1;
    pub const BAD_PEER_AS: u8 = 2;
    pub const BAD_BGP_ID: u8 = 3;
    pub const UNSUPPORTED_OPT_PARAM: u8 = 4;
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
}

/// UPDATE Message Error subcodes (RFC 4271 section 6.3).
pub mod update {
    pub const MALFORMED_ATTR_LIST: u8 = 1;
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    pub const MISSING_WELL_KNOWN: u8 = 3;
    pub const ATTR_FLAGS: u8 = 4;
    pub const ATTR_LENGTH: u8 = 5;
    pub const INVALID_ORIGIN: u8 = 6;
    pub const INVALID_NEXT_HOP: u8 = 8;
    pub const OPTIONAL_ATTR: u8 = 9;
    pub const INVALID_NETWORK: u8 = 10;
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Cease subcodes (RFC 4486).
pub mod cease {
    pub const MAX_PREFIXES: u8 = 1;
    pub const ADMIN_SHUTDOWN: u8 = 2;
    pub const PEER_DECONFIGURED: u8 = 3;
    pub const ADMIN_RESET: u8 = 4;
    pub const CONNECTION_REJECTED: u8 = 5;
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    pub const COLLISION: u8 = 7;
    pub const OUT_OF_RESOURCES: u8 = 8;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 section 5).
pub mod route_refresh {
    pub const INVALID_LENGTH: u8 = 1;
}

/// A NOTIFICATION message (RFC 4271 section 4.5).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl Notification {
    pub fn new(code: u8, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// The RFC 8203/9003 shutdown communication of a Cease/Administrative
    /// Shutdown or Reset, if it carries one.
    pub fn shutdown_message(&self) -> Option<String> {
        if self.code != code::CEASE
            || !(self.subcode == cease::ADMIN_SHUTDOWN || self.subcode == cease::ADMIN_RESET)
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..len as usize)?;
        Some(String::from_utf8_lossy(text).into_owned())
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NOTIFICATION {}/{}", self.code, self.subcode)?;
        if !self.data.is_empty() {
            write!(f, " data ")?;
            for b in self.data.iter().take(16) {
                write!(f, "{b:02x}")?;
            }
            if self.data.len() > 16 {
                write!(f, "..")?;
            }
        }
        Ok(())
    }
}

/// A message the codec could not accept: `field` names what was wrong,
/// `notification` is what the peer must be told (the session is then reset).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{field}: {notification}")]
pub struct Error {
    pub field: &'static str,
    pub notification: Notification,
}

impl Error {
    pub fn new(field: &'static str, code: u8, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Error {
            field,
            notification: Notification::new(code, subcode, data),
        }
    }

    pub(crate) fn update(field: &'static str, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Error::new(field, code::UPDATE, subcode, data)
    }

    pub fn code(&self) -> (u8, u8) {
        (self.notification.code, self.notification.subcode)
    }
}
