//! The error type of the core layer.

/// Errors raised by fastcandle-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from candle, with what we were doing when it happened.
    #[error("{context}: {source}")]
    Candle {
        /// What fastcandle was doing.
        context: String,
        /// candle's own error.
        #[source]
        source: candle_core::Error,
    },
    /// A device was asked for that this build or machine cannot give.
    #[error("device `{name}` is not available: {reason}")]
    DeviceUnavailable {
        /// The device asked for.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A parameter name was registered twice.
    #[error("parameter `{0}` is registered twice")]
    DuplicateParam(String),
    /// A tensor is not what an operation needs.
    #[error("tensor `{name}`: {reason}")]
    BadTensor {
        /// The tensor's name or role.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<candle_core::Error> for Error {
    fn from(source: candle_core::Error) -> Self {
        Error::Candle {
            context: "tensor operation".into(),
            source,
        }
    }
}

/// The result type of the core layer.
pub type Result<T> = std::result::Result<T, Error>;

/// Adds context to candle results.
pub trait Context<T> {
    /// Wraps a candle error with a description of what was being done.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, candle_core::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Candle {
            context: what(),
            source,
        })
    }
}
