// Reads Strait's checkpoints and heartbeats with MirrorMaker 2's own client library
// (connect-mirror-client), the way failover tooling and operators do.
//
// Run from the test bed: java -cp "$KAFKA_LIBS/*" tests/java/MirrorClientCheck.java MODE ...
//   translate BOOTSTRAP SOURCE_ALIAS GROUP
//       RemoteClusterUtils.translateOffsets: one line "topic partition offset metadata" per
//       partition, sorted.
//   heartbeats BOOTSTRAP SOURCE_ALIAS
//       RemoteClusterUtils.upstreamClusters / replicationHops / heartbeatTopics /
//       checkpointTopics, one "key value" line each.
// BOOTSTRAP is the target cluster (PLAINTEXT listener).

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.mirror.RemoteClusterUtils;

public class MirrorClientCheck {
    public static void main(String[] args) throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.put("bootstrap.servers", args[1]);
        switch (args[0]) {
            case "translate": {
                Map<TopicPartition, OffsetAndMetadata> offsets = RemoteClusterUtils.translateOffsets(
                        props, args[2], args[3], Duration.ofSeconds(30));
                List<String> lines = new ArrayList<>();
                for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
                    lines.add(e.getKey().topic() + " " + e.getKey().partition() + " "
                            + e.getValue().offset() + " " + e.getValue().metadata());
                }
                lines.sort(null);
                lines.forEach(l -> System.out.println(l.trim()));
                break;
            }
            case "heartbeats": {
                System.out.println("upstreamClusters " + new TreeSet<>(RemoteClusterUtils.upstreamClusters(props)));
                System.out.println("replicationHops " + RemoteClusterUtils.replicationHops(props, args[2]));
                System.out.println("heartbeatTopics " + new TreeSet<>(RemoteClusterUtils.heartbeatTopics(props)));
                System.out.println("checkpointTopics " + new TreeSet<>(RemoteClusterUtils.checkpointTopics(props)));
                break;
            }
            default:
                throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }
}
