//! SNMP error-status values (RFC 3416 section 3) and the error a SET fails with.

/// error-status of a Response-PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ErrorStatus {
    NoError = 0,
    TooBig = 1,
    NoSuchName = 2,
    BadValue = 3,
    ReadOnly = 4,
    GenErr = 5,
    NoAccess = 6,
    WrongType = 7,
    WrongLength = 8,
    WrongEncoding = 9,
    WrongValue = 10,
    NoCreation = 11,
    InconsistentValue = 12,
    ResourceUnavailable = 13,
    CommitFailed = 14,
    UndoFailed = 15,
    AuthorizationError = 16,
    NotWritable = 17,
    InconsistentName = 18,
}

impl ErrorStatus {
    /// The SNMPv1 error-status for a v2 one (RFC 3584 section 4.4).
    pub fn to_v1(self) -> ErrorStatus {
        use ErrorStatus::*;
        match self {
            NoError | TooBig | NoSuchName | BadValue | ReadOnly | GenErr => self,
            WrongValue | WrongEncoding | WrongType | WrongLength | InconsistentValue => BadValue,
            NoAccess | NotWritable | NoCreation | InconsistentName | AuthorizationError => {
                NoSuchName
            }
            ResourceUnavailable | CommitFailed | UndoFailed => GenErr,
        }
    }
}

/// Why a SET failed: the status and the 1-based index of the variable binding.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{status:?} at varbind {index}")]
pub struct SetError {
    pub status: ErrorStatus,
    pub index: u32,
}

impl SetError {
    pub fn new(status: ErrorStatus, index: usize) -> Self {
        SetError {
            status,
            index: index as u32,
        }
    }
}
