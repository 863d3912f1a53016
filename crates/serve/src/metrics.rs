//! Prometheus metrics in the text exposition format (version 0.0.4), written by hand:
//! request counts by model, endpoint and status, request latency histograms, batch-size
//! histograms and queue-depth gauges.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The `model` label under which requests to names the repository does not know are
/// counted (one series for all of them, so invented names cannot grow the metrics).
pub const UNKNOWN_MODEL: &str = "_unknown";

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the batch-size histogram buckets (rows per executed batch).
pub const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len()];
        }
        for (c, &b) in self.counts.iter_mut().zip(bounds) {
            if v <= b {
                *c += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, &b) in bounds.iter().enumerate() {
            let c = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
    batches: BTreeMap<String, Histogram>,
    queues: BTreeMap<(String, String), Arc<AtomicI64>>,
    first_token: BTreeMap<String, Histogram>,
    per_token: BTreeMap<String, Histogram>,
    tokens: BTreeMap<String, u64>,
    explain_time: BTreeMap<(String, String), Histogram>,
}

/// Thread-safe metrics registry shared by the HTTP handlers and the batchers.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one finished request to `endpoint` of `model` with HTTP `status`.
    pub fn record_request(&self, model: &str, endpoint: &str, status: u16, elapsed: Duration) {
        let mut g = self.lock();
        *g.requests
            .entry((model.to_string(), endpoint.to_string(), status))
            .or_insert(0) += 1;
        g.latency
            .entry((model.to_string(), endpoint.to_string()))
            .or_default()
            .observe(&LATENCY_BUCKETS, elapsed.as_secs_f64());
    }

    /// Records one executed batch of `rows` rows for `model`.
    pub fn record_batch(&self, model: &str, rows: usize) {
        self.lock()
            .batches
            .entry(model.to_string())
            .or_default()
            .observe(&BATCH_BUCKETS, rows as f64);
    }

    /// The queue-depth gauge of one model version (created at 0 on first use).
    pub fn queue_gauge(&self, model: &str, version: &str) -> Arc<AtomicI64> {
        self.lock()
            .queues
            .entry((model.to_string(), version.to_string()))
            .or_default()
            .clone()
    }

    /// Records a generation's time to first token (from the request's arrival).
    pub fn record_first_token(&self, model: &str, elapsed: Duration) {
        self.lock()
            .first_token
            .entry(model.to_string())
            .or_default()
            .observe(&LATENCY_BUCKETS, elapsed.as_secs_f64());
    }

    /// Records one generated token of `model` and the time since the previous one (or
    /// since the first token's request, for the first).
    pub fn record_token(&self, model: &str, since_previous: Duration) {
        let mut g = self.lock();
        *g.tokens.entry(model.to_string()).or_insert(0) += 1;
        g.per_token
            .entry(model.to_string())
            .or_default()
            .observe(&LATENCY_BUCKETS, since_previous.as_secs_f64());
    }

    /// Records the compute time of one explanation of `model` by `method` (a method the
    /// model declares, so the label set stays bounded).
    pub fn record_explanation(&self, model: &str, method: &str, elapsed: Duration) {
        self.lock()
            .explain_time
            .entry((model.to_string(), method.to_string()))
            .or_default()
            .observe(&LATENCY_BUCKETS, elapsed.as_secs_f64());
    }

    /// Tokens generated by `model` so far.
    pub fn tokens_generated(&self, model: &str) -> u64 {
        self.lock().tokens.get(model).copied().unwrap_or(0)
    }

    /// Number of requests recorded for `model` and `endpoint` with `status`.
    pub fn request_count(&self, model: &str, endpoint: &str, status: u16) -> u64 {
        self.lock()
            .requests
            .get(&(model.to_string(), endpoint.to_string(), status))
            .copied()
            .unwrap_or(0)
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let g = self.lock();
        let mut out = String::new();
        out.push_str("# HELP glassbox_requests_total Inference and explanation requests by model, endpoint and HTTP status.\n");
        out.push_str("# TYPE glassbox_requests_total counter\n");
        for ((m, e, s), c) in &g.requests {
            let _ = writeln!(
                out,
                "glassbox_requests_total{{model=\"{}\",endpoint=\"{}\",status=\"{s}\"}} {c}",
                escape(m),
                escape(e)
            );
        }
        out.push_str("# HELP glassbox_request_duration_seconds Request latency from body read to response.\n");
        out.push_str("# TYPE glassbox_request_duration_seconds histogram\n");
        for ((m, e), h) in &g.latency {
            let labels = format!("model=\"{}\",endpoint=\"{}\"", escape(m), escape(e));
            h.write(
                &mut out,
                "glassbox_request_duration_seconds",
                &labels,
                &LATENCY_BUCKETS,
            );
        }
        out.push_str(
            "# HELP glassbox_batch_size Rows per batch executed by the dynamic batcher.\n",
        );
        out.push_str("# TYPE glassbox_batch_size histogram\n");
        for (m, h) in &g.batches {
            let labels = format!("model=\"{}\"", escape(m));
            h.write(&mut out, "glassbox_batch_size", &labels, &BATCH_BUCKETS);
        }
        out.push_str("# HELP glassbox_queue_depth Requests waiting in the batcher queue.\n");
        out.push_str("# TYPE glassbox_queue_depth gauge\n");
        for ((m, v), q) in &g.queues {
            let _ = writeln!(
                out,
                "glassbox_queue_depth{{model=\"{}\",version=\"{}\"}} {}",
                escape(m),
                escape(v),
                q.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP glassbox_time_to_first_token_seconds Time from a generate request's arrival to its first token.\n");
        out.push_str("# TYPE glassbox_time_to_first_token_seconds histogram\n");
        for (m, h) in &g.first_token {
            let labels = format!("model=\"{}\"", escape(m));
            h.write(
                &mut out,
                "glassbox_time_to_first_token_seconds",
                &labels,
                &LATENCY_BUCKETS,
            );
        }
        out.push_str(
            "# HELP glassbox_token_latency_seconds Time between consecutive generated tokens.\n",
        );
        out.push_str("# TYPE glassbox_token_latency_seconds histogram\n");
        for (m, h) in &g.per_token {
            let labels = format!("model=\"{}\"", escape(m));
            h.write(
                &mut out,
                "glassbox_token_latency_seconds",
                &labels,
                &LATENCY_BUCKETS,
            );
        }
        out.push_str("# HELP glassbox_generated_tokens_total Tokens generated.\n");
        out.push_str("# TYPE glassbox_generated_tokens_total counter\n");
        for (m, c) in &g.tokens {
            let _ = writeln!(
                out,
                "glassbox_generated_tokens_total{{model=\"{}\"}} {c}",
                escape(m)
            );
        }
        out.push_str("# HELP glassbox_explanation_duration_seconds Compute time of explanations by model and method.\n");
        out.push_str("# TYPE glassbox_explanation_duration_seconds histogram\n");
        for ((m, method), h) in &g.explain_time {
            let labels = format!("model=\"{}\",method=\"{}\"", escape(m), escape(method));
            h.write(
                &mut out,
                "glassbox_explanation_duration_seconds",
                &labels,
                &LATENCY_BUCKETS,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.record_request("toy", "infer", 200, Duration::from_millis(3));
        m.record_request("toy", "infer", 200, Duration::from_millis(30));
        m.record_request("toy", "infer", 400, Duration::from_millis(1));
        let text = m.render();
        assert!(text.contains(
            "glassbox_requests_total{model=\"toy\",endpoint=\"infer\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "glassbox_request_duration_seconds_bucket{model=\"toy\",endpoint=\"infer\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "glassbox_request_duration_seconds_bucket{model=\"toy\",endpoint=\"infer\",le=\"+Inf\"} 3"
        ));
        assert_eq!(m.request_count("toy", "infer", 400), 1);
    }

    #[test]
    fn generation_and_explanation_metrics_render() {
        let m = Metrics::default();
        m.record_first_token("gpt", Duration::from_millis(4));
        m.record_token("gpt", Duration::from_millis(4));
        m.record_token("gpt", Duration::from_millis(30));
        m.record_explanation("bert", "lig", Duration::from_millis(200));
        let text = m.render();
        assert!(text.contains("glassbox_generated_tokens_total{model=\"gpt\"} 2"));
        assert!(text
            .contains("glassbox_time_to_first_token_seconds_bucket{model=\"gpt\",le=\"0.005\"} 1"));
        assert!(
            text.contains("glassbox_token_latency_seconds_bucket{model=\"gpt\",le=\"0.005\"} 1")
        );
        assert!(text.contains("glassbox_token_latency_seconds_count{model=\"gpt\"} 2"));
        assert!(text.contains(
            "glassbox_explanation_duration_seconds_bucket{model=\"bert\",method=\"lig\",le=\"0.25\"} 1"
        ));
        assert_eq!(m.tokens_generated("gpt"), 2);
    }

    #[test]
    fn queue_gauge_is_shared() {
        let m = Metrics::default();
        m.queue_gauge("toy", "1").fetch_add(3, Ordering::Relaxed);
        assert!(m
            .render()
            .contains("glassbox_queue_depth{model=\"toy\",version=\"1\"} 3"));
    }
}
