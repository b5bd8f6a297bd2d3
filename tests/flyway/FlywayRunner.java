// The real Flyway, driven by the differential tests (tests/test_flyway_real.py, tests/flyway_real.py).
//
// Reads java.util.Properties from stdin describing a batch of cases, so that one JVM answers hundreds of them:
//   cases=<n>
//   <i>.command=info | validate | migrate | repair | clean | baseline
//   <i>.conf.<key>=<value>   any Flyway configuration key, passed as is (flyway.url, flyway.user, flyway.password,
//                            flyway.locations, flyway.placeholders.x, flyway.table, flyway.validateMigrationNaming...)
// Prints one JSON document on stdout: {"flyway": "<version>", "results": [<result per case>]}, where a result is
//   {"migrations": [{version, description, type, script, checksum, state, installedRank}...], "migrated": n,
//    "valid": bool, "invalid": [messages], "repaired": {removed, deleted, aligned}, "cleaned": [schemas],
//    "dropped": [schemas]}   (the keys the command produces)
// or {"error": "<message>", "class": "<exception class>"} when Flyway refuses. Flyway's own logging goes to stderr.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.flywaydb.core.api.output.CleanResult;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.core.api.output.RepairResult;
import org.flywaydb.core.api.output.ValidateOutput;
import org.flywaydb.core.api.output.ValidateResult;

public class FlywayRunner {
    static final List<java.sql.Connection> OPEN = new ArrayList<>();

    static String quote(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static String strings(List<String> items) {
        StringBuilder b = new StringBuilder("[");
        if (items != null) for (int i = 0; i < items.size(); i++) b.append(i == 0 ? "" : ", ").append(quote(items.get(i)));
        return b.append("]").toString();
    }

    static String num(Integer n) { return n == null ? "null" : n.toString(); }

    static String migrations(Flyway flyway) {
        StringBuilder b = new StringBuilder("[");
        String sep = "";
        for (MigrationInfo m : flyway.info().all()) {
            b.append(sep).append("{\"version\": ").append(quote(m.getVersion() == null ? null : m.getVersion().getVersion()))
             .append(", \"description\": ").append(quote(m.getDescription()))
             .append(", \"type\": ").append(quote(m.getType() == null ? null : m.getType().name()))
             .append(", \"script\": ").append(quote(m.getScript()))
             .append(", \"checksum\": ").append(num(m.getChecksum()))
             .append(", \"state\": ").append(quote(m.getState().name()))
             .append(", \"installedRank\": ").append(num(m.getInstalledRank()))
             .append("}");
            sep = ", ";
        }
        return b.append("]").toString();
    }

    static String run(String command, Map<String, String> conf) {
        // flyway.postgresql.transactional.lock needs jackson-databind through configuration(Map); set it directly.
        String lock = conf.remove("flyway.postgresql.transactional.lock");
        // Connections go through a DataSource that remembers them, so that each case closes all it opened (Flyway
        // keeps some open, and hundreds of cases would exhaust the server's max_connections).
        String url = conf.remove("flyway.url"), user = conf.remove("flyway.user"), password = conf.remove("flyway.password");
        javax.sql.DataSource ds = (javax.sql.DataSource) java.lang.reflect.Proxy.newProxyInstance(
                FlywayRunner.class.getClassLoader(), new Class<?>[]{javax.sql.DataSource.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getConnection")) {
                        java.sql.Connection c = java.sql.DriverManager.getConnection(url, user, password);
                        OPEN.add(c);
                        return c;
                    }
                    if (method.getName().equals("unwrap") || method.getName().equals("getParentLogger")) return null;
                    if (method.getName().equals("isWrapperFor")) return false;
                    if (method.getName().equals("getLoginTimeout")) return 0;
                    if (method.getName().equals("hashCode")) return System.identityHashCode(proxy);
                    if (method.getName().equals("equals")) return proxy == args[0];
                    if (method.getName().equals("toString")) return "DataSource(" + url + ")";
                    return null;
                });
        FluentConfiguration fluent = Flyway.configure().configuration(conf).dataSource(ds);
        if (lock != null) fluent.getConfigurationExtension(PostgreSQLConfigurationExtension.class)
                .setTransactionalLock(Boolean.parseBoolean(lock));
        Flyway flyway = fluent.load();
        switch (command) {
            case "info":
                return "{\"migrations\": " + migrations(flyway) + "}";
            case "migrate": {
                MigrateResult result = flyway.migrate();
                return "{\"migrated\": " + result.migrationsExecuted + ", \"migrations\": " + migrations(flyway) + "}";
            }
            case "validate": {
                ValidateResult result = flyway.validateWithResult();
                StringBuilder b = new StringBuilder("[");
                String sep = "";
                if (result.invalidMigrations != null) for (ValidateOutput o : result.invalidMigrations) {
                    b.append(sep).append(quote(o.errorDetails == null ? o.filepath : o.errorDetails.errorMessage));
                    sep = ", ";
                }
                return "{\"valid\": " + result.validationSuccessful + ", \"invalid\": " + b + "], \"migrations\": "
                        + migrations(flyway) + "}";
            }
            case "repair": {
                RepairResult result = flyway.repair();
                return "{\"repaired\": {\"removed\": " + result.migrationsRemoved.size() + ", \"deleted\": "
                        + result.migrationsDeleted.size() + ", \"aligned\": " + result.migrationsAligned.size()
                        + "}, \"migrations\": " + migrations(flyway) + "}";
            }
            case "clean": {
                CleanResult result = flyway.clean();
                return "{\"cleaned\": " + strings(result.schemasCleaned) + ", \"dropped\": "
                        + strings(result.schemasDropped) + "}";
            }
            case "baseline": {
                flyway.baseline();
                return "{\"migrations\": " + migrations(flyway) + "}";
            }
            default:
                throw new IllegalArgumentException("unknown command " + command);
        }
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(System.err);  // whatever Flyway prints must not spoil the JSON
        Properties p = new Properties();
        p.load(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int n = Integer.parseInt(p.getProperty("cases", "0"));
        StringBuilder b = new StringBuilder("{\"flyway\": " + quote(Flyway.class.getPackage().getImplementationVersion())
                + ", \"results\": [");
        for (int i = 0; i < n; i++) {
            Map<String, String> conf = new HashMap<>();
            String prefix = i + ".conf.";
            for (String key : p.stringPropertyNames()) if (key.startsWith(prefix)) conf.put(key.substring(prefix.length()), p.getProperty(key));
            String result;
            try {
                result = run(p.getProperty(i + ".command"), conf);
            } catch (Exception e) {
                result = "{\"error\": " + quote(String.valueOf(e.getMessage())) + ", \"class\": " + quote(e.getClass().getName()) + "}";
            }
            for (java.sql.Connection c : OPEN) try { c.close(); } catch (Exception e) { }
            OPEN.clear();
            b.append(i == 0 ? "" : ",\n").append(result);
        }
        out.println(b.append("]}"));
    }
}
