//! The studio: fauxto's HTTP API and web pages over a face library. A designer filters a
//! hundred thousand faces, opens one, sees where it came from and downloads it labelled; a
//! platform calls the same API with a key. One process, embedded assets, localhost unless
//! told otherwise.
//!
//! Layers: `auth` (who calls, with what scope, at what rate), `api` (the JSON endpoints and
//! their OpenAPI document), `web` (the pages), `state` (the open library and its indexes in
//! memory), `face_json` (each face's JSON, serialised once), `generate` (batched generation on demand), `jobs` (bulk
//! `library add` jobs, resumed after a restart), `server` (routes, middleware).

pub mod api;
pub mod auth;
pub mod error;
pub mod face_json;
pub mod generate;
pub mod jobs;
pub mod server;
pub mod state;
pub mod web;

pub use server::{router, serve};
pub use state::{FaceNetworks, FaceReader, Studio, StudioOptions};
