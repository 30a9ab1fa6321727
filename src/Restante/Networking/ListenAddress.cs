using System.Globalization;
using System.Net;

namespace Restante.Networking;

/// <summary>Parses listen addresses as operators write them: "127.0.0.1:1110", "[::1]:110", "*:110", "localhost:1110".</summary>
public static class ListenAddress
{
    public static bool TryParse(string text, out IPEndPoint endPoint, out string error)
    {
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        error = string.Empty;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"'{text}' is not an address:port pair (for example 127.0.0.1:1110 or [::]:110).";
            return false;
        }
        var host = text[..colon];
        var portText = text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            error = $"'{portText}' in '{text}' is not a port number.";
            return false;
        }
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];

        IPAddress? address = host switch
        {
            "*" or "0.0.0.0" => IPAddress.Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(host, out var parsed) ? parsed : null,
        };
        if (address is null)
        {
            error = $"'{host}' in '{text}' is not an IP address (use 0.0.0.0, [::], * or localhost for the usual cases).";
            return false;
        }
        endPoint = new IPEndPoint(address, port);
        return true;
    }

    /// <summary>
    /// Like <see cref="TryParse"/>, and also a Unix-domain socket path: "unix:/run/restante/lmtp.sock"
    /// or any value starting with '/'.
    /// </summary>
    public static bool TryParseEndPoint(string text, out EndPoint endPoint, out string error)
    {
        if (TryGetSocketPath(text, out var path))
        {
            endPoint = new IPEndPoint(IPAddress.Loopback, 0);
            if (path.Length == 0 || !path.StartsWith('/'))
            {
                error = $"'{text}' is not an absolute socket path (for example unix:/run/restante/lmtp.sock).";
                return false;
            }
            endPoint = new System.Net.Sockets.UnixDomainSocketEndPoint(path);
            error = string.Empty;
            return true;
        }
        var parsed = TryParse(text, out var ip, out error);
        endPoint = ip;
        return parsed;
    }

    /// <summary>True when <paramref name="text"/> names a Unix-domain socket; <paramref name="path"/> is its path.</summary>
    public static bool TryGetSocketPath(string text, out string path)
    {
        if (text.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            path = text["unix:".Length..];
            return true;
        }
        path = text;
        return text.StartsWith('/');
    }

    public static IPEndPoint Parse(string text)
        => TryParse(text, out var endPoint, out var error) ? endPoint : throw new FormatException(error);
}
