//! The application layer of fauxto: what a front end (the `fauxto` command line, the studio
//! server) does with the pieces — label every image it writes, resolve signing keys, run
//! the memorisation guard and the generation pipeline — with plain option structs and typed
//! results, so that every front end calls the same functions.

pub mod gif;
pub mod guard;
pub mod images;
pub mod keys;
pub mod labels;
pub mod payload;
pub mod pipeline;
pub mod registry;
pub mod render;
pub mod verify;
