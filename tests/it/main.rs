//! The workspace's end-to-end tests, in one binary to keep link time down: training on
//! real data (`nn_*`), the sample report rendered in headless Chromium
//! (`report_chromium`), and the Open Inference Protocol server (`serve_*`).

mod nn_lenet_mnist;
mod nn_mlp_digits;
mod nn_sunspots;
mod nn_support;
mod report_chromium;
mod serve_api;
mod serve_batching;
mod serve_repository;
mod serve_support;
mod serve_text;
mod serve_text_stream;
