namespace ZapHub.Platform;

/// <summary>
/// A failure the caller can act on. The API turns it into ProblemDetails; the dashboard shows the localized
/// text for <see cref="Code"/>, or <see cref="Exception.Message"/> when it has none.
/// </summary>
public sealed class ProblemException(int status, string code, string message, string? field = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    public string? Field { get; } = field;

    /// <summary>The specifics as a note, when the dashboard should show them in the reader's language (the message stays English).</summary>
    public Note? Note { get; init; }

    public static ProblemException NotFound(string what) => new(StatusCodes.Status404NotFound, "not_found", $"{what} was not found.");
    public static ProblemException Conflict(string code, string message) => new(StatusCodes.Status409Conflict, code, message);
    public static ProblemException Invalid(string field, string code, string message) => new(StatusCodes.Status400BadRequest, code, message, field);
    public static ProblemException Forbidden(string code, string message) => new(StatusCodes.Status403Forbidden, code, message);
}
