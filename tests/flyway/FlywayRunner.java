// The real Flyway, driven by the differential tests (tests/test_flyway_real.py, tests/flyway_real.py).
//
// Reads java.util.Properties from stdin describing a batch of cases, so that one JVM answers hundreds of them:
//   cases=<n>
//   <i>.command=info | validate | migrate | repair | clean | baseline | settings
//   <i>.conf.<key>=<value>   any Flyway configuration key, passed as is (flyway.url, flyway.user, flyway.password,
//                            flyway.locations, flyway.placeholders.x, flyway.table, flyway.validateMigrationNaming...)
//   <i>.configFile=<path>    a project's own flyway.toml or flyway.conf, read as the Flyway command line reads it with
//                            its folder as working directory (relative locations are relative to it); the conf keys
//                            (url, user, password, …) then only say how to connect.
// Prints one JSON document on stdout: {"flyway": "<version>", "results": [<result per case>]}, where a result is
//   {"migrations": [{version, description, type, script, checksum, state, installedRank}...], "migrated": n,
//    "valid": bool, "invalid": [messages], "repaired": {removed, deleted, aligned}, "cleaned": [schemas],
//    "dropped": [schemas], "settings": {flywayKey: value}}   (the keys the command produces)
// or {"error": "<message>", "class": "<exception class>"} when Flyway refuses. Flyway's own logging goes to stderr.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.configuration.ClassicConfiguration;
import org.flywaydb.core.api.configuration.Configuration;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.internal.configuration.ConfigUtils;
import org.flywaydb.core.extensibility.ConfigurationExtension;
import org.flywaydb.core.internal.configuration.models.ConfigurationModel;
import org.flywaydb.core.internal.configuration.models.EnvironmentModel;
import org.flywaydb.core.internal.util.MergeUtils;
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

    // The Flyway command line's reading of a configuration file, with Flyway's own classes. For flyway.toml, the command
    // line's TomlUtils (in flyway-core-utilities, which Maven Central does not serve) is Jackson's TomlMapper reading
    // Flyway's ConfigurationModel, unknown keys ignored, merged onto ConfigurationModel.defaults(); the command line's
    // ModernConfigurationManager then makes the locations relative to the working directory and builds a
    // ClassicConfiguration from the model (environment selection and [environments.X.flyway] overrides are
    // ClassicConfiguration's). For flyway.conf, LegacyConfigurationManager: ConfigUtils.loadConfigurationFile, relative
    // locations, FluentConfiguration.configuration(map).workingDirectory(dir). Flyway's own logic throughout, except
    // where a class of the command line is missing (bindExtensions).
    static FluentConfiguration fromFile(String path, Map<String, String> conf) throws Exception {
        File file = new File(path).getAbsoluteFile();
        String dir = file.getParent();
        if (path.endsWith(".toml")) {
            ConfigurationModel read = tools.jackson.dataformat.toml.TomlMapper.builder()
                    .configure(tools.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false).build()
                    .readerFor(ConfigurationModel.class)
                    .readValue(new String(java.nio.file.Files.readAllBytes(file.toPath()), StandardCharsets.UTF_8));
            ConfigurationModel model = ConfigurationModel.defaults().merge(read);
            ConfigUtils.makeRelativeLocationsBasedOnWorkingDirectory(dir, model.getFlyway().getLocations());
            ConfigUtils.makeRelativeLocationsBasedOnWorkingDirectory(dir, model.getFlyway().getCallbackLocations());
            ConfigUtils.makeRelativeLocationsInEnvironmentsBasedOnWorkingDirectory(dir, model.getEnvironments());
            ClassicConfiguration classic = new ClassicConfiguration(model);
            classic.setWorkingDirectory(dir);
            FluentConfiguration fluent = Flyway.configure().configuration(classic);
            bindExtensions(model, classic.getCurrentEnvironmentName(), fluent);
            return conf.isEmpty() ? fluent : fluent.configuration(conf);
        }
        Map<String, String> map = ConfigUtils.loadConfigurationFile(file, "UTF-8", true);
        ConfigUtils.makeRelativeLocationsBasedOnWorkingDirectory(dir, map, "flyway.locations");
        // As `flyway` run in that folder: its command line makes callbackLocations relative only when given (with
        // -workingDirectory it would also turn a missing one into the whole folder, a quirk children do not rely on).
        if (map.containsKey("flyway.callbackLocations"))
            ConfigUtils.makeRelativeLocationsBasedOnWorkingDirectory(dir, map, "flyway.callbackLocations");
        map.keySet().removeIf(k -> k.equals("flyway.url") || k.equals("flyway.user") || k.equals("flyway.password"));
        map.putAll(conf);
        return Flyway.configure().configuration(map).workingDirectory(dir);
    }

    // Stand-in for the command line's ConfigurationExtensionBinder (flyway-core-utilities, not on Maven Central): the
    // settings that live in configuration extensions (baselineMigrationPrefix) are read from [flyway], with the active
    // environment's [environments.X.flyway] layered over it key by key, names matched ignoring case, and bound with
    // Jackson onto the extension. Only extensions of the root namespace: the others are no setting ddl-cascade reads.
    static void bindExtensions(ConfigurationModel model, String environment, FluentConfiguration fluent) {
        Map<String, Object> effective = new HashMap<>();
        if (model.getFlyway().getPluginConfigurations() != null) effective.putAll(model.getFlyway().getPluginConfigurations());
        EnvironmentModel env = model.getEnvironments() == null ? null : model.getEnvironments().get(environment);
        if (env != null && env.getFlyway() != null && env.getFlyway().getPluginConfigurations() != null)
            effective = MergeUtils.merge(effective, env.getFlyway().getPluginConfigurations(), MergeUtils::mergeObjects);
        for (ConfigurationExtension extension : fluent.getPluginRegister().getInstancesOf(ConfigurationExtension.class)) {
            if (!extension.getNamespace().isEmpty()) continue;
            Map<String, Object> values = new HashMap<>();
            for (java.lang.reflect.Field field : extension.getClass().getDeclaredFields())
                for (Map.Entry<String, Object> e : effective.entrySet())
                    if (e.getKey().equalsIgnoreCase(field.getName())) values.put(field.getName(), e.getValue());
            if (values.isEmpty()) continue;
            Object bound = tools.jackson.databind.json.JsonMapper.builder()
                    .enable(tools.jackson.databind.MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS).build()
                    .convertValue(values, extension.getClass());
            MergeUtils.mergeModel(bound, extension);
        }
    }

    static String objects(Object[] items) {
        List<String> out = new ArrayList<>();
        if (items != null) for (Object o : items) out.add(String.valueOf(o));
        return strings(out);
    }

    // The settings the loaded configuration holds, for the settings command: what Flyway made of a config file.
    static String settings(Configuration c) {
        StringBuilder placeholders = new StringBuilder("{");
        String sep = "";
        for (Map.Entry<String, String> e : new TreeMap<>(c.getPlaceholders()).entrySet()) {
            placeholders.append(sep).append(quote(e.getKey())).append(": ").append(quote(e.getValue()));
            sep = ", ";
        }
        org.flywaydb.core.api.migration.baseline.BaselineMigrationConfigurationExtension baseline = c.getPluginRegister()
                .getInstanceOf(org.flywaydb.core.api.migration.baseline.BaselineMigrationConfigurationExtension.class);
        return "{\"environment\": " + quote(c.getCurrentEnvironmentName())
                + ", \"locations\": " + objects(c.getLocations())
                + ", \"callbackLocations\": " + objects(c.getCallbackLocations())
                + ", \"sqlMigrationPrefix\": " + quote(c.getSqlMigrationPrefix())
                + ", \"repeatableSqlMigrationPrefix\": " + quote(c.getRepeatableSqlMigrationPrefix())
                + ", \"baselineMigrationPrefix\": " + quote(baseline.getBaselineMigrationPrefix())
                + ", \"sqlMigrationSeparator\": " + quote(c.getSqlMigrationSeparator())
                + ", \"sqlMigrationSuffixes\": " + objects(c.getSqlMigrationSuffixes())
                + ", \"encoding\": " + quote(c.getEncoding().name())
                + ", \"placeholders\": " + placeholders.append("}")
                + ", \"placeholderReplacement\": " + c.isPlaceholderReplacement()
                + ", \"outOfOrder\": " + c.isOutOfOrder()
                + ", \"validateMigrationNaming\": " + c.isValidateMigrationNaming()
                + ", \"mixed\": " + c.isMixed()
                + ", \"target\": " + quote(String.valueOf(c.getTarget()))
                + ", \"baselineOnMigrate\": " + c.isBaselineOnMigrate()
                + ", \"baselineVersion\": " + quote(String.valueOf(c.getBaselineVersion()))
                + ", \"baselineDescription\": " + quote(c.getBaselineDescription())
                + ", \"table\": " + quote(c.getTable())
                + ", \"schemas\": " + objects(c.getSchemas())
                + ", \"defaultSchema\": " + quote(c.getDefaultSchema())
                + ", \"createSchemas\": " + c.isCreateSchemas()
                + ", \"validateOnMigrate\": " + c.isValidateOnMigrate()
                + ", \"ignoreMigrationPatterns\": " + objects(c.getIgnoreMigrationPatterns())
                + ", \"cleanDisabled\": " + c.isCleanDisabled() + "}";
    }

    static String run(String command, Map<String, String> conf, String configFile) throws Exception {
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
        FluentConfiguration fluent = (configFile == null ? Flyway.configure().configuration(conf) : fromFile(configFile, conf))
                .dataSource(ds);
        if (lock != null) fluent.getConfigurationExtension(PostgreSQLConfigurationExtension.class)
                .setTransactionalLock(Boolean.parseBoolean(lock));
        Flyway flyway = fluent.load();
        switch (command) {
            case "info":
                return "{\"migrations\": " + migrations(flyway) + "}";
            case "settings":  // no database needed: what the configuration holds
                return "{\"settings\": " + settings(flyway.getConfiguration()) + "}";
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

    static String batch(String text) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(text));
        int n = Integer.parseInt(p.getProperty("cases", "0"));
        StringBuilder b = new StringBuilder("{\"flyway\": " + quote(Flyway.class.getPackage().getImplementationVersion())
                + ", \"results\": [");
        for (int i = 0; i < n; i++) {
            Map<String, String> conf = new HashMap<>();
            String prefix = i + ".conf.";
            for (String key : p.stringPropertyNames()) if (key.startsWith(prefix)) conf.put(key.substring(prefix.length()), p.getProperty(key));
            String result;
            try {
                result = run(p.getProperty(i + ".command"), conf, p.getProperty(i + ".configFile"));
            } catch (Exception e) {
                result = "{\"error\": " + quote(String.valueOf(e.getMessage())) + ", \"class\": " + quote(e.getClass().getName()) + "}";
            }
            for (java.sql.Connection c : OPEN) try { c.close(); } catch (Exception e) { }
            OPEN.clear();
            b.append(i == 0 ? "" : ", ").append(result);
        }
        return b.append("]}").toString();
    }

    // Batches arrive on stdin one after another, each ended by a line "@@end"; each answer is one line of JSON followed
    // by a line "@@done". So one JVM (started once per test process) answers every batch, warm; a batch sent without
    // "@@end" is answered when stdin closes.
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(System.err);  // whatever Flyway prints must not spoil the JSON
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder chunk = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("@@end")) {
                out.println(batch(chunk.toString()));
                out.println("@@done");
                out.flush();
                chunk.setLength(0);
            } else {
                chunk.append(line).append('\n');
            }
        }
        if (!chunk.toString().isBlank()) out.println(batch(chunk.toString()));
    }
}
