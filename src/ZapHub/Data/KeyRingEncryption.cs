using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.EntityFrameworkCore;
using ZapHub.Platform;

namespace ZapHub.Data;

/// <summary>
/// Brings every key of the ring under the current key-encryption certificate before anything reads it: keys an
/// earlier version stored in plain text, and keys encrypted with a certificate since rotated out. A key that none of
/// the configured certificates can open stops the start, because Data Protection would otherwise quietly make a
/// new key and every credential protected with the old one would be lost.
/// </summary>
public static class KeyRingEncryption
{
    private static readonly XNamespace Ns = "http://schemas.asp.net/2015/03/dataProtection";
    private static readonly XName EncryptedSecret = Ns + "encryptedSecret";
    private static readonly XName RequiresEncryption = Ns + "requiresEncryption";

    public static async Task<int> ReencryptAsync(IServiceProvider services, CancellationToken ct = default)
    {
        var certificates = services.GetRequiredService<KeyRingCertificates>();
        var current = certificates.Current;
        var encryptor = new CertificateXmlEncryptor(current, services.GetRequiredService<ILoggerFactory>());
        var decryptor = new EncryptedXmlDecryptor(services);
        var known = certificates.All.Select(c => c.Thumbprint).ToHashSet(StringComparer.OrdinalIgnoreCase);

        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var changed = 0;
        foreach (var key in await db.DataProtectionKeys.ToListAsync(ct))
        {
            if (key.Xml is null) continue;
            var element = XElement.Parse(key.Xml);
            var touched = false;
            foreach (var secret in element.Descendants(EncryptedSecret).ToList())
            {
                var thumbprint = ThumbprintOf(secret);
                if (string.Equals(thumbprint, current.Thumbprint, StringComparison.OrdinalIgnoreCase)) continue;
                if (thumbprint is null || !known.Contains(thumbprint))
                    throw new StartupException(
                        $"Data Protection key {key.FriendlyName} is encrypted with certificate {thumbprint ?? "(unknown)"}, which is not configured. " +
                        $"Add that certificate to {KeyRingOptions.Section}:{nameof(KeyRingOptions.PreviousCertificates)} so ZapHub can move the key to the current one.");
                secret.ReplaceWith(Encrypt(encryptor, decryptor.Decrypt(secret.Elements().Single())));
                touched = true;
            }
            foreach (var plain in element.Descendants().Where(e => (string?)e.Attribute(RequiresEncryption) == "true").ToList())
            {
                plain.ReplaceWith(Encrypt(encryptor, plain));
                touched = true;
            }
            if (!touched) continue;
            key.Xml = element.ToString(SaveOptions.DisableFormatting);
            changed++;
        }
        await db.SaveChangesAsync(ct);
        return changed;
    }

    private static XElement Encrypt(CertificateXmlEncryptor encryptor, XElement plain)
    {
        var encrypted = encryptor.Encrypt(plain);
        return new XElement(EncryptedSecret, new XAttribute("decryptorType", encrypted.DecryptorType.AssemblyQualifiedName!), encrypted.EncryptedElement);
    }

    /// <summary>XML encryption carries the recipient's certificate (public part only) beside the wrapped key.</summary>
    private static string? ThumbprintOf(XElement secret)
    {
        var data = secret.Descendants().FirstOrDefault(e => e.Name.LocalName == "X509Certificate")?.Value;
        if (data is null) return null;
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(data));
            return certificate.Thumbprint;
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException) { return null; }
    }
}
