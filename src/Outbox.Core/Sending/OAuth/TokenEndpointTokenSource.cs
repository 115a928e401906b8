using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Outbox.Core.Sending.OAuth;

/// <summary>
/// Client-credentials tokens from any OAuth2 token endpoint, cached until RefreshBefore their
/// expiry; one request at a time however many connections ask.
/// </summary>
internal sealed class TokenEndpointTokenSource : IAccessTokenSource, IDisposable
{
    private readonly OAuth2Options _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly TokenPurpose _purpose;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AccessToken? _token;

    public TokenEndpointTokenSource(OAuth2Options options, HttpClient http, TimeProvider time, TokenPurpose purpose)
    {
        _purpose = purpose;
        _options = options;
        _http = http;
        _time = time;
    }

    public string Describe => $"the token endpoint {_options.TokenEndpoint}";

    public async Task<AccessToken> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh(_token) is { } cached)
        {
            return cached;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Fresh(_token) ?? (_token = await RequestAsync(cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _gate.Dispose();
    }

    private AccessToken? Fresh(AccessToken? token) =>
        token is not null && token.ExpiresOn - _time.GetUtcNow() > _options.RefreshBefore ? token : null;

    private async Task<AccessToken> RequestAsync(CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = _options.ClientId ?? string.Empty,
            ["client_secret"] = ClientCredentials.Secret(_options, _purpose.Key) ?? string.Empty,
        };
        var scope = string.IsNullOrWhiteSpace(_options.Scope) ? _purpose.EndpointDefaultScope : _options.Scope;
        if (scope is not null)
        {
            form["scope"] = scope;
        }

        HttpResponseMessage response;
        try
        {
            using var content = new FormUrlEncodedContent(form);
            response = await _http.PostAsync(new Uri(_options.TokenEndpoint!), content, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new TransportConfigurationException(
                $"OAuth2: cannot get a token from {_options.TokenEndpoint} ({ex.GetBaseException().Message.TrimEnd('.')}). Check {_purpose.Key}:TokenEndpoint and that this host can reach it", ex);
        }

        using (response)
        {
            TokenResponse? body;
            try
            {
                body = await response.Content.ReadFromJsonAsync<TokenResponse>(cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
                body = null;
            }

            if (!response.IsSuccessStatusCode || string.IsNullOrEmpty(body?.AccessToken))
            {
                // The endpoint's words may repeat the secret it was sent.
                var scrubber = new Secrets.SecretScrubber([ClientCredentials.Secret(_options, _purpose.Key)]);
                var reason = body?.Error is null
                    ? $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}"
                    : scrubber.Scrub($"HTTP {(int)response.StatusCode}, {body.Error}{(body.ErrorDescription is null ? string.Empty : ": " + body.ErrorDescription)}");
                throw new TransportConfigurationException(
                    $"OAuth2: {_options.TokenEndpoint} gave no token ({reason}). Check {_purpose.Key}:ClientId, ClientSecret (or ClientSecretFile) and Scope");
            }

            return new AccessToken(body.AccessToken, _time.GetUtcNow().AddSeconds(body.ExpiresIn is > 0 ? body.ExpiresIn.Value : 3600));
        }
    }

    private sealed class TokenResponse
    {
        [JsonPropertyName("access_token")]
        public string? AccessToken { get; set; }

        [JsonPropertyName("expires_in")]
        [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
        public int? ExpiresIn { get; set; }

        [JsonPropertyName("error")]
        public string? Error { get; set; }

        [JsonPropertyName("error_description")]
        public string? ErrorDescription { get; set; }
    }
}
