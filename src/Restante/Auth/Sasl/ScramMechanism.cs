using System.Security.Cryptography;
using System.Text;

namespace Restante.Auth.Sasl;

/// <summary>
/// RFC 5802 SCRAM with SHA-1 and RFC 7677 SHA-256, and their -PLUS variants with RFC 5929 tls-server-end-point
/// channel binding. Needs a "{PLAIN}" secret or stored keys of the same hash ("{SCRAM-SHA-256}…"); for anything else
/// the exchange runs to the end with made-up credentials and fails like a wrong password.
/// <code>
/// C: AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYlJXZ2JORWtxTw==      (n,,n=user,r=rOprNGfwEbeRWgbNEkqO)
/// S: + cj1yT3ByTkdmd0ViUldnYk5Fa3FPJWh2WURwV1VhMlJhVENBZnV4RklsailoTmxGJGswLHM9VzIyWmFKMFNOWTdzb0VzVUVqYjZnUT09LGk9NDA5Ng==
/// C: Yz1iaXdzLHI9…,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=
/// S: + dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==    (v=…, the server's proof)
/// C:
/// S: +OK Logged in, …
/// </code>
/// </summary>
public sealed class ScramMechanism : ISaslMechanism
{
    private const string BindingName = "tls-server-end-point";

    private readonly ScramHash _hash;
    private readonly bool _plus;

    public ScramMechanism(ScramHash hash, bool plus)
    {
        _hash = hash;
        _plus = plus;
        Name = (hash == ScramHash.Sha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256") + (plus ? "-PLUS" : "");
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public SaslSecurity Security => SaslSecurity.MutualAuth | (_plus ? SaslSecurity.ChannelBinding : SaslSecurity.None);

    /// <inheritdoc />
    public CredentialNeed Needs => CredentialNeed.LookupCredentials;

    /// <inheritdoc />
    public ISaslExchange Start(SaslContext context) => new Exchange(this, context);

    private sealed class Exchange(ScramMechanism mechanism, SaslContext context) : ISaslExchange
    {
        private int _state;   // 0: wants client-first, 1: wants client-final, 2: wants the empty ack, 3: done
        private string _gs2Header = "";
        private string _clientFirstBare = "";
        private string _serverFirst = "";
        private string _nonce = "";
        private ScramLookup? _lookup;

        public string AttemptedUser { get; private set; } = "";

        public async ValueTask<SaslStep> StepAsync(ReadOnlyMemory<byte>? response, CancellationToken cancellationToken)
        {
            if (response is null)
            {
                if (_state != 0) return Fail();
                return SaslStep.Continue([]);    // client-first is the client's to send
            }
            if (!SaslText.TryDecode(response.Value.Span, out var text)) return Fail();
            switch (_state)
            {
                case 0: return await ClientFirstAsync(text, cancellationToken).ConfigureAwait(false);
                case 1: return ClientFinal(text);
                case 2:
                    _state = 3;
                    // RFC 5034 §4: the server's final data went out as a challenge; the client acknowledges it empty.
                    return text.Length == 0 ? SaslStep.Succeeded(_lookup!.User!) : SaslStep.Failed;
                default: return Fail();
            }
        }

        private SaslStep Fail()
        {
            _state = 3;
            return SaslStep.Failed;
        }

        // gs2-header client-first-bare: "n,,n=user,r=nonce" or "p=tls-server-end-point,a=user,n=user,r=nonce".
        private async ValueTask<SaslStep> ClientFirstAsync(string text, CancellationToken cancellationToken)
        {
            var firstComma = text.IndexOf(',', StringComparison.Ordinal);
            var secondComma = firstComma < 0 ? -1 : text.IndexOf(',', firstComma + 1);
            if (secondComma < 0) return Fail();
            var flag = text[..firstComma];
            var authzidPart = text[(firstComma + 1)..secondComma];
            _gs2Header = text[..(secondComma + 1)];
            _clientFirstBare = text[(secondComma + 1)..];

            // RFC 5802 §6: the channel binding flag must agree with the mechanism and with what the server can do.
            var serverCanBind = context.TlsServerEndPoint is not null;
            var flagOk = mechanism._plus
                ? flag == "p=" + BindingName && serverCanBind
                : flag == "n" || (flag == "y" && !serverCanBind);   // "y" with binding available: a downgrade attempt
            if (!flagOk) return Fail();

            var attributes = _clientFirstBare.Split(',');
            if (attributes.Length < 2 || !attributes[0].StartsWith("n=", StringComparison.Ordinal) || !attributes[1].StartsWith("r=", StringComparison.Ordinal))
                return Fail();   // also refuses a leading "m=" (mandatory extension we do not know)
            if (!TryDecodeSaslName(attributes[0][2..], out var user) || user.Length == 0) return Fail();
            AttemptedUser = user;
            var clientNonce = attributes[1][2..];
            if (clientNonce.Length == 0) return Fail();
            if (authzidPart.Length > 0)
            {
                if (!authzidPart.StartsWith("a=", StringComparison.Ordinal) || !TryDecodeSaslName(authzidPart[2..], out var authzid)
                    || !string.Equals(authzid, user, StringComparison.Ordinal))
                {
                    return Fail();
                }
            }

            _lookup = await context.Services.Authenticator.LookupScramAsync(user, mechanism._hash, cancellationToken).ConfigureAwait(false);
            _nonce = clientNonce + context.Services.NewNonce();
            var credentials = _lookup.Credentials;
            _serverFirst = $"r={_nonce},s={Convert.ToBase64String(credentials.Salt)},i={credentials.Iterations}";
            _state = 1;
            return SaslStep.Continue(Encoding.UTF8.GetBytes(_serverFirst));
        }

        // "c=base64(gs2-header [cbind-data]),r=nonce[,extensions],p=proof"
        private SaslStep ClientFinal(string text)
        {
            var proofAt = text.LastIndexOf(",p=", StringComparison.Ordinal);
            if (proofAt < 0) return Fail();
            var withoutProof = text[..proofAt];
            var attributes = withoutProof.Split(',');
            if (attributes.Length < 2 || !attributes[0].StartsWith("c=", StringComparison.Ordinal) || attributes[1] != "r=" + _nonce)
                return Fail();

            byte[] binding, proof;
            try
            {
                binding = Convert.FromBase64String(attributes[0][2..]);
                proof = Convert.FromBase64String(text[(proofAt + 3)..]);
            }
            catch (FormatException)
            {
                return Fail();
            }
            byte[] expectedBinding = [.. Encoding.UTF8.GetBytes(_gs2Header), .. mechanism._plus ? context.TlsServerEndPoint! : []];
            if (!CryptographicOperations.FixedTimeEquals(binding, expectedBinding)) return Fail();

            var credentials = _lookup!.Credentials;
            var hash = mechanism._hash;
            if (proof.Length != hash.Length()) return Fail();
            var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
            var clientSignature = hash.Hmac(credentials.StoredKey, authMessage);
            var clientKey = new byte[proof.Length];
            for (var i = 0; i < proof.Length; i++) clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
            var valid = CryptographicOperations.FixedTimeEquals(hash.Digest(clientKey), credentials.StoredKey);
            CryptographicOperations.ZeroMemory(clientKey);
            if (!valid || _lookup.User is null) return Fail();

            var serverSignature = hash.Hmac(credentials.ServerKey, authMessage);
            _state = 2;
            return SaslStep.Continue(Encoding.ASCII.GetBytes("v=" + Convert.ToBase64String(serverSignature)));
        }

        // RFC 5802 §5.1: "=2C" is ',' and "=3D" is '='; any other '=' is malformed.
        private static bool TryDecodeSaslName(string value, out string name)
        {
            name = "";
            var result = new StringBuilder(value.Length);
            for (var i = 0; i < value.Length; i++)
            {
                if (value[i] != '=')
                {
                    result.Append(value[i]);
                    continue;
                }
                if (string.CompareOrdinal(value, i, "=2C", 0, 3) == 0) result.Append(',');
                else if (string.CompareOrdinal(value, i, "=3D", 0, 3) == 0) result.Append('=');
                else return false;
                i += 2;
            }
            name = result.ToString();
            return true;
        }
    }
}
