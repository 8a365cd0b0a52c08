namespace ZapHub.Data;

/// <summary>
/// The certificate that encrypts the Data Protection key ring (which in turn encrypts gateway credentials, session
/// secrets and webhook secrets). It lives outside the database, so a copy of the database alone decrypts nothing.
/// </summary>
public sealed class KeyRingOptions
{
    public const string Section = "DataProtection";

    /// <summary>A PKCS#12 (.pfx) file with a private key. Required outside Development; every node uses the same one.</summary>
    public string? Certificate { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Certificates the key ring was encrypted with before a rotation. At start ZapHub re-encrypts every key with
    /// <see cref="Certificate"/>, after which these can be removed.
    /// </summary>
    public string[] PreviousCertificates { get; set; } = [];
}
