using System.Security.Cryptography;
using QRCoder;

namespace ZapHub.GatewayEmulator;

public static class QrImages
{
    public static byte[] Png(string text)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.L);
        return new PngByteQRCode(data).GetGraphic(4);
    }

    public static string Base64Png(string text) => Convert.ToBase64String(Png(text));

    /// <summary>A Baileys-shaped QR payload: "2@ref,noiseKey,identityKey,advSecret".</summary>
    public static string NewWhatsAppCode() =>
        "2@" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)) + "," + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        + "," + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "," + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>WhatsApp link codes are 8 characters from an unambiguous alphabet.</summary>
    public static string NewPairingCode() => RandomNumberGenerator.GetString("ABCDEFGHJKLMNPQRSTVWXYZ123456789", 8);

    public static string NewMessageKey() => "3EB0" + Convert.ToHexString(RandomNumberGenerator.GetBytes(9));

    /// <summary>
    /// Numbers the emulated WhatsApp does not know: a leading zero, too short (e.g. "0001234"), or ending in 0000
    /// (e.g. 5511930000000), so a test or a demo can reach "not on WhatsApp" with a well-formed number.
    /// </summary>
    public static bool NumberExists(string digits) =>
        digits.Length >= 10 && digits[0] != '0' && digits.All(char.IsAsciiDigit) && !digits.EndsWith("0000", StringComparison.Ordinal);
}
