//! One replication flow (one source alias to one target alias): wires source replication,
//! checkpoints and heartbeats together and runs them until shutdown.
//!
//! Not built yet (issue "Source replication").
