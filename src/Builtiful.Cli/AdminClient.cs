using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Builtiful.Cli;

/// <summary>The admin API over HTTP, as the CLI needs it: JSON in, the answer's status and body out.</summary>
public sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(Uri baseUrl, string? token, TimeSpan? timeout = null)
    {
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public Uri BaseUrl => _http.BaseAddress!;

    public Task<ApiAnswer> GetAsync(string path, CancellationToken cancellationToken, string? accept = null) =>
        SendAsync(HttpMethod.Get, path, null, accept, cancellationToken);

    public Task<ApiAnswer> PostAsync(string path, object? body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, path, body, null, cancellationToken);

    public Task<ApiAnswer> PutAsync(string path, object body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, path, body, null, cancellationToken);

    /// <summary>Sends prepared content (a replayed delivery) exactly as given.</summary>
    public async Task<ApiAnswer> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var response = await _http.SendAsync(request, cancellationToken);
        return new ApiAnswer((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), response.Content.Headers.ContentType?.MediaType);
    }

    public void Dispose() => _http.Dispose();

    private async Task<ApiAnswer> SendAsync(HttpMethod method, string path, object? body, string? accept, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (accept is not null)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: ApiAnswer.JsonOptions);
        }

        return await SendAsync(request, cancellationToken);
    }
}

/// <summary>One answer of the API; problem details become one readable line.</summary>
public sealed record ApiAnswer(int Status, string Body, string? MediaType)
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public bool Succeeded => Status is >= 200 and < 300;

    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

    /// <summary>"404 Organisation not found: Installation 42 has never been seen."</summary>
    public string Describe()
    {
        if (MediaType is "application/problem+json" or "application/json" && Body.Length > 0)
        {
            try
            {
                var problem = Json;
                var title = problem.TryGetProperty("title", out var t) ? t.GetString() : null;
                var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : null;
                if (title is not null)
                {
                    return detail is null ? $"{Status} {title}" : $"{Status} {title}: {detail}";
                }
            }
            catch (JsonException)
            {
                // Not the JSON it claims to be: show it as text below.
            }
        }

        return Status switch
        {
            401 => "401 Unauthorized: pass the admin token with --token or $" + CliOptions.TokenVariable + ".",
            403 => "403 Forbidden: this token's role may not do that (actions need the operator role).",
            _ => Body.Length == 0 ? $"HTTP {Status}" : $"HTTP {Status}: {Body}",
        };
    }
}
