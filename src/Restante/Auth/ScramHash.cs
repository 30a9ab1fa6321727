using System.Security.Cryptography;

namespace Restante.Auth;

/// <summary>The hash behind a SCRAM mechanism or stored SCRAM secret (RFC 5802 SHA-1, RFC 7677 SHA-256).</summary>
public enum ScramHash
{
    Sha1,
    Sha256,
}

internal static class ScramHashExtensions
{
    public static HashAlgorithmName Algorithm(this ScramHash hash) => hash == ScramHash.Sha1 ? HashAlgorithmName.SHA1 : HashAlgorithmName.SHA256;

    public static int Length(this ScramHash hash) => hash == ScramHash.Sha1 ? SHA1.HashSizeInBytes : SHA256.HashSizeInBytes;

    public static string SchemeName(this ScramHash hash) => hash == ScramHash.Sha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";

    public static byte[] Hmac(this ScramHash hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data)
        => hash == ScramHash.Sha1 ? HMACSHA1.HashData(key, data) : HMACSHA256.HashData(key, data);

    public static byte[] Digest(this ScramHash hash, ReadOnlySpan<byte> data)
        => hash == ScramHash.Sha1 ? SHA1.HashData(data) : SHA256.HashData(data);
}
