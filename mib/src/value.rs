//! SMI values (RFC 2578) as the agent carries them, independent of BER.

/// A value an object instance holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Value {
    Integer(i32),
    OctetString(Vec<u8>),
    ObjectId(Vec<u32>),
    IpAddress([u8; 4]),
    Counter32(u32),
    /// Gauge32 and Unsigned32 share one encoding.
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    /// NULL, as sent in the value of a request.
    Null,
}

impl Value {
    /// Short name of the type, for logs and errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Integer(_) => "INTEGER",
            Value::OctetString(_) => "OCTET STRING",
            Value::ObjectId(_) => "OBJECT IDENTIFIER",
            Value::IpAddress(_) => "IpAddress",
            Value::Counter32(_) => "Counter32",
            Value::Gauge32(_) => "Gauge32",
            Value::TimeTicks(_) => "TimeTicks",
            Value::Opaque(_) => "Opaque",
            Value::Counter64(_) => "Counter64",
            Value::Null => "NULL",
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Integer(v) => write!(f, "INTEGER {v}"),
            Value::OctetString(b) | Value::Opaque(b) => match std::str::from_utf8(b) {
                Ok(s) if s.chars().all(|c| !c.is_control()) => {
                    write!(f, "{} {s:?}", self.type_name())
                }
                _ => write!(
                    f,
                    "{} 0x{}",
                    self.type_name(),
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                ),
            },
            Value::ObjectId(o) => write!(f, "OID {}", crate::oid::fmt(o)),
            Value::IpAddress(a) => write!(f, "IpAddress {}.{}.{}.{}", a[0], a[1], a[2], a[3]),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => {
                write!(f, "{} {v}", self.type_name())
            }
            Value::Counter64(v) => write!(f, "Counter64 {v}"),
            Value::Null => write!(f, "NULL"),
        }
    }
}

/// The outcome of reading one name: a value or one of the RFC 3416 exceptions.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum VarResult {
    Value(Value),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}
