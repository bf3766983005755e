//! A pickle reader that never executes: the stream is read into inert [`Value`]s.

mod machine;
mod value;

pub use machine::{read_pickle, Pickle, HIGHEST_PROTOCOL};
pub use value::{Arena, Id, Value};
