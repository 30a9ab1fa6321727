using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace Restante.Tests.Auth;

/// <summary>
/// An "{ARGON2ID}" secret with chosen cost parameters, in the PHC form Dovecot writes (the server's own
/// <c>Hash</c> always uses Dovecot's defaults). Computed with the same library the server verifies with.
/// </summary>
internal static class Argon2TestHash
{
    public static string Create(string password, int memoryKib, int passes)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        using var argon = new Argon2id(Encoding.UTF8.GetBytes(password))
        {
            Salt = salt,
            DegreeOfParallelism = 1,
            Iterations = passes,
            MemorySize = memoryKib,
        };
        var hash = argon.GetBytes(32);
        return $"{{ARGON2ID}}$argon2id$v=19$m={memoryKib},t={passes},p=1${Unpadded(salt)}${Unpadded(hash)}";
    }

    private static string Unpadded(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');
}
