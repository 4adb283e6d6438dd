//! The HTTP listener: health, readiness, Prometheus metrics, status and the dashboard.
//!
//! Not built yet (issue "Operating Strait").
