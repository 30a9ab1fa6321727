using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Restante.Hosting;

namespace Restante.Cli;

/// <summary>
/// `restante serve`: configuration comes from defaults, then the JSON file, then RESTANTE_*
/// environment variables, then command-line options — later sources win.
/// </summary>
internal static class ServeCommand
{
    /// <param name="data">The root command's recursive --data option.</param>
    public static Command Create(Option<string> data)
    {
        var pop3 = new Option<string[]>("--pop3") { Description = "POP3 listen address, may be repeated. Default: 127.0.0.1:1110" };
        var pop3s = new Option<string[]>("--pop3s") { Description = "POP3S (implicit TLS) listen address, may be repeated. Default: 127.0.0.1:1995" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate (chain) file, reloaded when it changes. Default: DATA/tls/cert.pem, self-signed, created if missing" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key file for --tls-cert" };
        var allowPlaintext = new Option<bool>("--allow-plaintext") { Description = "Allow USER/PASS without TLS from non-loopback addresses" };
        var lmtp = new Option<string[]>("--lmtp") { Description = $"LMTP listen address or unix:/socket/path, may be repeated; \"\" turns LMTP off. Default: {RestanteOptions.DefaultLmtpAddress}" };
        var smtp = new Option<string[]>("--smtp") { Description = "SMTP listen address for application tests (local users only), may be repeated. Default: off" };
        var maildir = new Option<string?>("--maildir") { Description = "Maildir path template with %u for the user. Default: DATA/mail/%u" };
        var store = StoreOption();
        var postgres = PostgresOption();
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file" };
        var logLevel = new Option<LogLevel?>("--log-level") { Description = "Minimum log level (Debug shows every command, secrets redacted)" };
        var logFormat = new Option<string?>("--log-format") { Description = "Console log format: simple (default) or json (one object per line, for log shippers)" };
        var metrics = new Option<string?>("--metrics") { Description = "Prometheus scrape endpoint address, e.g. 127.0.0.1:9110 (path /metrics). Default: off" };
        var metricsAllowRemote = new Option<bool>("--metrics-allow-remote") { Description = "Allow --metrics on a non-loopback address (the endpoint has no authentication)" };
        var acceptUidlChange = new Option<bool>("--accept-uidl-change") { Description = "Start even though UidlSource differs from the one whose UIDLs clients have seen (they may download mail again)" };

        var command = new Command("serve", "Run the POP3 server");
        command.Options.Add(pop3);
        command.Options.Add(pop3s);
        command.Options.Add(tlsCert);
        command.Options.Add(tlsKey);
        command.Options.Add(allowPlaintext);
        command.Options.Add(lmtp);
        command.Options.Add(smtp);
        command.Options.Add(maildir);
        command.Options.Add(store);
        command.Options.Add(postgres);
        command.Options.Add(config);
        command.Options.Add(logLevel);
        command.Options.Add(logFormat);
        command.Options.Add(metrics);
        command.Options.Add(metricsAllowRemote);
        command.Options.Add(acceptUidlChange);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(data) is { } d) overrides["DataDirectory"] = d;
            if (parse.GetValue(maildir) is { } m) overrides["Maildir"] = m;
            AddStoreOverrides(parse, store, postgres, overrides);
            var addresses = parse.GetValue(pop3) ?? [];
            if (parse.GetValue(tlsCert) is { } cert) overrides["TlsCertificate"] = cert;
            if (parse.GetValue(tlsKey) is { } key) overrides["TlsKey"] = key;
            if (parse.GetValue(allowPlaintext)) overrides["AllowPlaintext"] = "true";
            var tlsAddresses = parse.GetValue(pop3s) ?? [];
            if (parse.GetValue(logLevel) is { } level) overrides["Logging:LogLevel:Default"] = level.ToString();
            if (parse.GetValue(logFormat) is { } format) overrides["Logging:Format"] = format;
            if (parse.GetValue(metrics) is { } metricsAddress) overrides["Metrics:Listen"] = metricsAddress;
            if (parse.GetValue(metricsAllowRemote)) overrides["Metrics:AllowRemote"] = "true";
            if (parse.GetValue(acceptUidlChange)) overrides["AcceptUidlChange"] = "true";
            return await RunAsync(parse.GetValue(config), overrides, addresses, tlsAddresses, parse.GetValue(lmtp) ?? [], parse.GetValue(smtp) ?? [], cancellationToken);
        });
        return command;
    }

    internal static Option<string?> StoreOption() => new("--store")
    {
        Description = "Where mail is kept: maildir, mbox (Mbox:Spool, e.g. /var/mail/%u), postgres or memory (lost at exit). Default: maildir",
    };

    internal static Option<string?> PostgresOption() => new("--postgres")
    {
        Description = "PostgreSQL connection string for --store postgres, e.g. \"Host=db;Database=mail;Username=restante\"",
    };

    /// <summary>--store and --postgres as configuration keys, so they win over the file and the environment.</summary>
    internal static void AddStoreOverrides(ParseResult parse, Option<string?> store, Option<string?> postgres, Dictionary<string, string?> overrides)
    {
        if (parse.GetValue(store) is { } s) overrides["Store"] = s;
        if (parse.GetValue(postgres) is { } p) overrides["Postgres:ConnectionString"] = p;
    }

    private static async Task<int> RunAsync(FileInfo? configFile, Dictionary<string, string?> overrides, string[] pop3, string[] pop3s,
        string[] lmtp, string[] smtp, CancellationToken cancellationToken)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        if (ConfigFile.IsMissing(configFile, Console.Error)) return 1;
        var layers = new ServeConfiguration
        {
            ConfigFile = configFile,
            Overrides = overrides,
            Lists = new() { ["Pop3"] = pop3, ["Pop3s"] = pop3s, ["Lmtp"] = lmtp, ["Smtp"] = smtp },
        };
        try
        {
            layers.AddTo(builder.Configuration);   // reads the file now
        }
        catch (Exception ex) when (ServeConfiguration.IsUnusableFile(ex))
        {
            await Console.Error.WriteLineAsync($"Configuration error: {ServeConfiguration.Describe(ex)}");
            return 1;
        }

        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        var logFormat = builder.Configuration["Logging:Format"];
        ConsoleLogFormat.Add(builder.Logging, builder.Services, logFormat);
        // Under systemd (parent process is systemd): Type=notify readiness (READY=1 once the listeners are up,
        // STOPPING=1 on shutdown) and console lines with <N> syslog priorities for journald. Elsewhere it
        // changes nothing. After the simple console so its formatter choice wins there (JSON stays JSON).
        builder.Services.AddSystemd();
        if (!layers.TryBind(builder.Configuration, out var settings, out var unbound))
        {
            await Console.Error.WriteLineAsync($"Configuration error: {unbound}");
            return 1;
        }
        var metricsOptions = new MetricsOptions();
        builder.Configuration.GetSection("Metrics").Bind(metricsOptions);
        builder.Services.AddMetricsExport(metricsOptions);
        builder.Services.AddRestante(builder.Configuration);
        builder.Services.AddAllStores(builder.Configuration);
        // --pop3 replaces the configured list rather than merging into it index by index.
        builder.Services.PostConfigure<RestanteOptions>(layers.ApplyLists);
        // Like LMTP, the control socket comes with `restante serve`: DATA/restante.ctl unless Admin:Socket says otherwise ("" = none).
        builder.Services.PostConfigure<Restante.Admin.AdminOptions>(o => o.Socket ??= Path.Combine(builder.Configuration["DataDirectory"] ?? new RestanteOptions().DataDirectory, Restante.Admin.AdminOptions.DefaultFileName));

        var options = settings.Server;
        var problems = settings.Validate().Concat(ServeConfiguration.OtherProblems(builder.Configuration)).ToList();
        if (problems.Count > 0)
        {
            foreach (var problem in problems) await Console.Error.WriteLineAsync($"Configuration error: {problem}");
            return 1;
        }

        // Before the host starts anything on the pool: the pool reads its spin limit when it makes its first worker.
        var spinning = ThreadPoolSpinning.ApplyFor(options.EffectiveStore);
        using var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Restante.Auth.PasswdFileException or System.Net.Sockets.SocketException or UnauthorizedAccessException or IOException)
        {
            await Console.Error.WriteLineAsync($"Cannot start: {ex.Message}");
            return 1;
        }

        var server = host.Services.GetRequiredService<Pop3Server>();
        using var hangup = ReloadOnHangup.Register(layers, (IConfigurationRoot)builder.Configuration, server,
            host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Restante.Hosting"));
        var announce = ConsoleLogFormat.Announcer(host.Services.GetRequiredService<ILoggerFactory>(), logFormat);
        if (server.Certificates is { } certificates)
        {
            var current = certificates.Current.Certificate;
            announce($"TLS certificate {current.Subject} from {certificates.CertificatePath}, SHA-256 {Restante.Networking.DevCertificate.Fingerprint(current)}");
        }
        foreach (var endPoint in server.Pop3sEndPoints) announce($"POP3S listening on {endPoint}");
        foreach (var endPoint in server.Pop3EndPoints) announce($"POP3 listening on {endPoint}");
        foreach (var endPoint in server.LmtpEndPoints) announce($"LMTP listening on {endPoint}");
        foreach (var endPoint in server.SmtpEndPoints) announce($"SMTP listening on {endPoint}");
        if (ThreadPoolSpinning.Describe(spinning) is { } spinLine) announce(spinLine);
        if (!string.IsNullOrWhiteSpace(metricsOptions.Listen)) announce($"Metrics on {metricsOptions.ScrapePrefix()}");
        if (!File.Exists(options.EffectivePasswdFile) || new FileInfo(options.EffectivePasswdFile).Length == 0)
        {
            announce($"No users yet. Add one with: restante user add NAME --data {options.DataDirectory}");
        }
        await host.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
