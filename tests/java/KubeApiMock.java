// A Kubernetes API server for Strait's config provider tests (tests/kubernetes_api.rs):
// fabric8's KubernetesMockServer in CRUD mode over HTTPS on 127.0.0.1, so Strait's kube client
// talks to a real Kubernetes-API-speaking server (paths, Status objects, content types).
//
// Run with the jars `testbed/kube-api.sh fetch` resolves:
//   java -cp "$LIBS/*" tests/java/KubeApiMock.java TOKEN [--forbid PATH]... [--allow PATH]...
//        [MANIFEST]...
//   TOKEN     requests must carry "Authorization: Bearer TOKEN", or get 401 as from a real
//             server (so the tests prove the kubeconfig's token is sent)
//   --forbid  GET on PATH answers 403 with the Status a real API server sends when RBAC
//             denies a service account (system:serviceaccount:repl:strait)
//   --allow   RBAC as a Role with `get` on named objects only: once any --allow is given, a
//             GET of a ConfigMap or Secret whose PATH is not allowed answers that 403 too
//   MANIFEST  YAML files of objects stored before serving (ConfigMaps, Secrets, ...)
// Prints "ready URL CERT_PEM_PATH" once serving (the server's self-signed certificate, to
// trust as the CA), then serves until its standard input closes, so it never outlives the
// test that started it.

import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;

public class KubeApiMock {
    static final String SERVICE_ACCOUNT = "system:serviceaccount:repl:strait";
    static final Pattern OBJECT_PATH =
            Pattern.compile("^/api/v1/namespaces/([^/]+)/(configmaps|secrets)/([^/?]+)$");

    public static void main(String[] args) throws Exception {
        String token = args[0];
        List<String> forbidden = new ArrayList<>();
        Set<String> allowed = new TreeSet<>();
        List<String> manifests = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--forbid")) {
                forbidden.add(args[++i]);
            } else if (args[i].equals("--allow")) {
                allowed.add(args[++i]);
            } else {
                manifests.add(args[i]);
            }
        }

        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMixedDispatcher mixed = new KubernetesMixedDispatcher(responses);
        // Off while the objects are stored through the mock's own client, which has no token.
        AtomicBoolean checkAccess = new AtomicBoolean(false);
        Dispatcher dispatcher = new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                if (checkAccess.get() && !("Bearer " + token).equals(request.getHeader("Authorization"))) {
                    return json(401, status(401, "Unauthorized", "Unauthorized", null, null));
                }
                String path = request.getPath();
                Matcher m = OBJECT_PATH.matcher(path == null ? "" : path);
                if (checkAccess.get() && !allowed.isEmpty() && m.matches() && !allowed.contains(path)) {
                    return json(403, forbiddenStatus(m.group(1), m.group(2), m.group(3)));
                }
                return mixed.dispatch(request);
            }

            @Override
            public void shutdown() {
                mixed.shutdown();
            }
        };
        MockWebServer web = new MockWebServer();
        KubernetesMockServer server = new KubernetesMockServer(new Context(), web, responses, dispatcher, true);
        server.init(InetAddress.getByName("127.0.0.1"), 0);

        try (KubernetesClient client = server.createClient()) {
            for (String path : manifests) {
                try (InputStream in = new FileInputStream(path)) {
                    for (HasMetadata item : client.load(in).items()) {
                        client.resource(item).create();
                    }
                }
            }
        }
        for (String path : forbidden) {
            Matcher m = OBJECT_PATH.matcher(path);
            if (!m.matches()) {
                throw new IllegalArgumentException("not an object path: " + path);
            }
            server.expect().get().withPath(path)
                    .andReturn(403, forbiddenStatus(m.group(1), m.group(2), m.group(3))).always();
        }
        checkAccess.set(true);

        String url = "https://127.0.0.1:" + server.getPort();
        System.out.println("ready " + url + " " + web.getSelfSignedCertificate().certificatePath());
        System.out.flush();
        while (System.in.read() != -1) {
            // serve until the test closes our standard input (or ends)
        }
        server.destroy();
        System.exit(0);
    }

    static MockResponse json(int code, String body) {
        return new MockResponse().setResponseCode(code)
                .setHeader("Content-Type", "application/json").setBody(body);
    }

    /** What RBAC answers a service account the Role does not grant `get` on the object. */
    static String forbiddenStatus(String namespace, String resource, String name) {
        String message = resource + " \"" + name + "\" is forbidden: User \"" + SERVICE_ACCOUNT
                + "\" cannot get resource \"" + resource + "\" in API group \"\" in the namespace \""
                + namespace + "\"";
        return status(403, "Forbidden", message, name, resource);
    }

    /** A metav1.Status as the API server writes it. */
    static String status(int code, String reason, String message, String name, String kind) {
        String details = name == null ? ""
                : ",\"details\":{\"name\":\"" + name + "\",\"kind\":\"" + kind + "\"}";
        return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                + "\"message\":\"" + message.replace("\"", "\\\"") + "\",\"reason\":\"" + reason + "\""
                + details + ",\"code\":" + code + "}";
    }
}
