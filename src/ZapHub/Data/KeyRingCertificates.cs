using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ZapHub.Platform;

namespace ZapHub.Data;

/// <summary>
/// The key-encryption certificate (and those of earlier rotations), loaded once at start. In Development without a
/// configured certificate, one is created with owner-only permissions beside the data folder; anywhere else a missing
/// setting is a refusal to start.
/// </summary>
public sealed class KeyRingCertificates
{
    public const string CertificateSetting = KeyRingOptions.Section + ":" + nameof(KeyRingOptions.Certificate);

    private KeyRingCertificates(X509Certificate2 current, string path, IReadOnlyList<X509Certificate2> previous) =>
        (Current, Path, Previous) = (current, path, previous);

    public X509Certificate2 Current { get; }

    /// <summary>The current certificate's file.</summary>
    public string Path { get; }

    public IReadOnlyList<X509Certificate2> Previous { get; }

    /// <summary>Every certificate a key may be encrypted with: the current one first.</summary>
    public IEnumerable<X509Certificate2> All => Previous.Prepend(Current);

    /// <summary>Where Development keeps the certificate it creates: a folder beside the data folder, not inside it.</summary>
    public static string DefaultPath(StorageOptions storage)
    {
        var data = System.IO.Path.GetFullPath(storage.DataDirectory).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        return System.IO.Path.Combine(data + "-keys", "key-encryption.pfx");
    }
    /// <summary>A self-signed RSA certificate in a PKCS#12 file readable by its owner only.</summary>
    public static X509Certificate2 Create(string path, string? password = null)
    {
        using var rsa = RSA.Create(3072);
        var request = new CertificateRequest("CN=ZapHub key ring", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.DataEncipherment, critical: true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(100));
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path, file))
            stream.Write(certificate.Export(X509ContentType.Pkcs12, password));
        return Open(path, password);
    }

    public static KeyRingCertificates Load(KeyRingOptions options, StorageOptions storage, IHostEnvironment environment)
    {
        var path = options.Certificate;
        if (string.IsNullOrWhiteSpace(path))
        {
            if (!environment.IsDevelopment())
                throw new StartupException(
                    $"{CertificateSetting} is not set. Outside Development ZapHub encrypts its key ring with a certificate kept apart " +
                    "from the database: create one with `zaphub create-key-certificate /etc/zaphub/key-encryption.pfx`, keep it readable " +
                    $"by ZapHub's user only, and set {CertificateSetting} (environment: DataProtection__Certificate) to its path on every node.");
            path = DefaultPath(storage);
            if (!File.Exists(path)) Create(path);
        }
        var current = OpenConfigured(path, options.CertificatePassword, CertificateSetting);
        var previous = options.PreviousCertificates.Where(p => !string.IsNullOrWhiteSpace(p))
            .Select(p => OpenConfigured(p, options.CertificatePassword, KeyRingOptions.Section + ":" + nameof(KeyRingOptions.PreviousCertificates)))
            .ToList();
        return new KeyRingCertificates(current, System.IO.Path.GetFullPath(path), previous);
    }

    private static X509Certificate2 OpenConfigured(string path, string? password, string setting)
    {
        if (!File.Exists(path))
            throw new StartupException($"{setting} names {path}, which does not exist. Create it with `zaphub create-key-certificate {path}` " +
                                       "(once, then give every node the same file).");
        X509Certificate2 certificate;
        try { certificate = Open(path, password); }
        catch (CryptographicException ex)
        {
            throw new StartupException($"{setting}: {path} is not a PKCS#12 (.pfx) file ZapHub can open with the configured password ({ex.Message}).");
        }
        if (!certificate.HasPrivateKey || certificate.GetRSAPrivateKey() is null)
            throw new StartupException($"{setting}: {path} has no RSA private key; the key ring cannot be decrypted without one.");
        return certificate;
    }

    private static X509Certificate2 Open(string path, string? password) =>
        X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);

    public bool OthersCanRead() =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(Path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0;
}
