//! The conformance suite on a 3-master Redis Cluster (`AUTH_TEST_REDIS_CLUSTER_URL`,
//! default redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103, which
//! scripts/services/redis.sh starts), each store under its own random key prefix.

mod common;

auth_store_testkit::conformance_tests!(common::cluster);
