import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/**
 * Waits until every listener given answers a metadata request (DescribeCluster), or fails.
 *
 * Usage: java -cp 'libs/*' Probe.java TIMEOUT_SECONDS NAME:PROTOCOL:HOST:PORT ...
 * SASL_SSL listeners are reached as user admin (password from STRAIT_PROBE_PASSWORD) with
 * the PEM CA in STRAIT_PROBE_TRUSTSTORE; SSL listeners (client certificates required) with the
 * PKCS#12 keystore in STRAIT_PROBE_KEYSTORE (password STRAIT_PROBE_KEYSTORE_PASSWORD) and the
 * same CA. Gives up early when a pid in STRAIT_PROBE_PIDS dies. A listener answers once its
 * cluster lists at least STRAIT_PROBE_BROKERS brokers (default 1), so a multi-broker cluster
 * counts as up only with every broker registered.
 */
public class Probe {
    public static void main(String[] args) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[0]));
        List<String> pending = new ArrayList<>(List.of(args).subList(1, args.length));
        long start = System.nanoTime();
        String pids = System.getenv().getOrDefault("STRAIT_PROBE_PIDS", "");
        while (!pending.isEmpty()) {
            for (String pid : pids.trim().split("\\s+")) {
                if (!pid.isEmpty() && ProcessHandle.of(Long.parseLong(pid)).map(p -> !p.isAlive()).orElse(true)) {
                    System.err.println("[testbed] broker process " + pid + " exited");
                    System.exit(1);
                }
            }
            String listener = pending.get(0);
            String[] parts = listener.split(":", 3);
            if (answers(parts[1], parts[2])) {
                System.err.println("[testbed] " + parts[0] + " " + parts[1] + " " + parts[2] + " answers after "
                        + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) + " s");
                pending.remove(0);
                continue;
            }
            if (System.nanoTime() > deadline) {
                System.err.println("[testbed] timed out waiting for " + pending + "; last refusal: " + lastFailure);
                System.exit(1);
            }
            Thread.sleep(250);
        }
    }

    /** Why the last attempt failed, so a timeout says more than "timed out". */
    static String lastFailure = "none";

    static boolean answers(String protocol, String address) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, address);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
        if (protocol.equals("SASL_SSL")) {
            p.put("security.protocol", "SASL_SSL");
            p.put("sasl.mechanism", "PLAIN");
            p.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\""
                    + System.getenv("STRAIT_PROBE_PASSWORD") + "\";");
            p.put("ssl.truststore.type", "PEM");
            p.put("ssl.truststore.location", System.getenv("STRAIT_PROBE_TRUSTSTORE"));
        } else if (protocol.equals("SSL")) {
            p.put("security.protocol", "SSL");
            p.put("ssl.truststore.type", "PEM");
            p.put("ssl.truststore.location", System.getenv("STRAIT_PROBE_TRUSTSTORE"));
            p.put("ssl.keystore.type", "PKCS12");
            p.put("ssl.keystore.location", System.getenv("STRAIT_PROBE_KEYSTORE"));
            p.put("ssl.keystore.password", System.getenv("STRAIT_PROBE_KEYSTORE_PASSWORD"));
        }
        try (Admin admin = Admin.create(p)) {
            DescribeClusterOptions o = new DescribeClusterOptions().timeoutMs(10000);
            int brokers = Integer.parseInt(System.getenv().getOrDefault("STRAIT_PROBE_BROKERS", "1"));
            return admin.describeCluster(o).nodes().get(12, TimeUnit.SECONDS).size() >= brokers
                    && admin.listTopics().names().get(12, TimeUnit.SECONDS) != null;
        } catch (Exception e) {
            lastFailure = address + " " + e;
            return false;
        }
    }
}
