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
            if (parse.GetValue(acceptUidlChange)) overrides["AcceptUidlChange"] = "true";
            return await RunAsync(parse.GetValue(config), overrides, addresses, tlsAddresses, parse.GetValue(lmtp) ?? [], parse.GetValue(smtp) ?? [], cancellationToken);
        });
        return command;
    }

    internal static Option<string?> StoreOption() => new("--store")
    {
        Description = "Where mail is kept: maildir, postgres or memory (lost at exit). Default: maildir",
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
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft"] = "Warning",
            // The lowest layer: a JSON file or RESTANTE_LMTP__0 replaces it, [""] turns LMTP off.
            ["Lmtp:0"] = RestanteOptions.DefaultLmtpAddress,
        });
        if (configFile is not null)
        {
            if (!configFile.Exists)
            {
                await Console.Error.WriteLineAsync($"Configuration file not found: {configFile.FullName}");
                return 1;
            }
            builder.Configuration.AddJsonFile(configFile.FullName, optional: false, reloadOnChange: false);
        }
        builder.Configuration.AddEnvironmentVariables("RESTANTE_");
        builder.Configuration.AddInMemoryCollection(overrides);

        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.IncludeScopes = true;
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
        });
        // Under systemd (parent process is systemd): Type=notify readiness (READY=1 once the listeners are up,
        // STOPPING=1 on shutdown) and console lines with <N> syslog priorities for journald. Elsewhere it
        // changes nothing. After AddSimpleConsole so its formatter choice wins there.
        builder.Services.AddSystemd();
        builder.Services.AddRestante(builder.Configuration);
        builder.Services.AddAllStores(builder.Configuration);
        // --pop3 replaces the configured list rather than merging into it index by index.
        if (pop3.Length > 0) builder.Services.PostConfigure<RestanteOptions>(o => o.Pop3 = [.. pop3]);
        if (pop3s.Length > 0) builder.Services.PostConfigure<RestanteOptions>(o => o.Pop3s = [.. pop3s]);
        if (lmtp.Length > 0) builder.Services.PostConfigure<RestanteOptions>(o => o.Lmtp = [.. lmtp]);
        if (smtp.Length > 0) builder.Services.PostConfigure<RestanteOptions>(o => o.Smtp = [.. smtp]);

        var options = new RestanteOptions();
        builder.Configuration.Bind(options);
        if (pop3.Length > 0) options.Pop3 = [.. pop3];
        if (pop3s.Length > 0) options.Pop3s = [.. pop3s];
        if (lmtp.Length > 0) options.Lmtp = [.. lmtp];
        if (smtp.Length > 0) options.Smtp = [.. smtp];
        var pop3Options = new Restante.Pop3.Pop3Options();
        builder.Configuration.Bind(pop3Options);
        var problems = options.Validate().Concat(pop3Options.Validate()).ToList();
        if (problems.Count > 0)
        {
            foreach (var problem in problems) await Console.Error.WriteLineAsync($"Configuration error: {problem}");
            return 1;
        }

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
        if (server.Certificates is { } certificates)
        {
            var current = certificates.Current.Certificate;
            Console.WriteLine($"TLS certificate {current.Subject} from {certificates.CertificatePath}, SHA-256 {Restante.Networking.DevCertificate.Fingerprint(current)}");
        }
        foreach (var endPoint in server.Pop3sEndPoints) Console.WriteLine($"POP3S listening on {endPoint}");
        foreach (var endPoint in server.Pop3EndPoints) Console.WriteLine($"POP3 listening on {endPoint}");
        foreach (var endPoint in server.LmtpEndPoints) Console.WriteLine($"LMTP listening on {endPoint}");
        foreach (var endPoint in server.SmtpEndPoints) Console.WriteLine($"SMTP listening on {endPoint}");
        if (!File.Exists(options.EffectivePasswdFile) || new FileInfo(options.EffectivePasswdFile).Length == 0)
        {
            Console.WriteLine($"No users yet. Add one with: restante user add NAME --data {options.DataDirectory}");
        }
        await host.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
