//! fastcandle
