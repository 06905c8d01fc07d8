//! The application layer's error: any error of the layers below, with their file, column or
//! tensor names kept.

/// Errors of fastcandle's applications.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the core layer.
    #[error(transparent)]
    Core(Box<fastcandle_core::Error>),
    /// From the data layer (files, columns, rows); boxed, as it is the largest.
    #[error(transparent)]
    Data(Box<fastcandle_data::Error>),
    /// From the training layer.
    #[error(transparent)]
    Train(Box<fastcandle_train::Error>),
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A plot could not be drawn: its input does not fit, or drawing or writing it failed.
    #[error("cannot draw {path}: {reason}")]
    Plot {
        /// The picture's file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A setting or input is not usable.
    #[error("{0}")]
    Invalid(String),
}

impl From<fastcandle_core::Error> for Error {
    fn from(e: fastcandle_core::Error) -> Self {
        Error::Core(Box::new(e))
    }
}

impl From<fastcandle_train::Error> for Error {
    fn from(e: fastcandle_train::Error) -> Self {
        Error::Train(Box::new(e))
    }
}

impl From<fastcandle_data::Error> for Error {
    fn from(e: fastcandle_data::Error) -> Self {
        Error::Data(Box::new(e))
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Core(Box::new(e.into()))
    }
}

/// The result type of fastcandle's applications.
pub type Result<T> = std::result::Result<T, Error>;
