using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Outbox.Core.Sending;

/// <summary>
/// Validates the SMTP server's certificate: the system's trust store, plus the CAs of
/// <see cref="SmtpOptions.CaFile"/>, plus optional SHA-256 pins. When it refuses, <see cref="Failure"/>
/// says why in words an operator can act on (the TLS stack only reports "handshake failed").
/// </summary>
public sealed class CertificateValidator
{
    private readonly string _host;
    private readonly X509Certificate2Collection _extraRoots;
    private readonly HashSet<string> _pins;

    public CertificateValidator(string host, X509Certificate2Collection extraRoots, IEnumerable<string> pins)
    {
        _host = host;
        _extraRoots = extraRoots;
        _pins = pins.Select(NormalizePin).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Why the last certificate was refused, or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>The chain the server presented, leaf first, as `outbox check smtp` prints it.</summary>
    public IReadOnlyList<string> PresentedChain { get; private set; } = [];

    /// <summary>Loads a PEM bundle, failing with a message that names the setting.</summary>
    public static X509Certificate2Collection LoadCaFile(string? path)
    {
        var roots = new X509Certificate2Collection();
        if (string.IsNullOrWhiteSpace(path))
        {
            return roots;
        }

        if (!File.Exists(path))
        {
            throw new TransportConfigurationException($"Outbox:Smtp:CaFile: the file {path} does not exist. Point it at a PEM bundle of the CA certificates to trust.");
        }

        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (CryptographicException ex)
        {
            throw new TransportConfigurationException($"Outbox:Smtp:CaFile: {path} is not a PEM certificate bundle ({ex.Message}). It must hold -----BEGIN CERTIFICATE----- blocks.", ex);
        }

        if (roots.Count == 0)
        {
            throw new TransportConfigurationException($"Outbox:Smtp:CaFile: {path} holds no certificate. It must hold -----BEGIN CERTIFICATE----- blocks.");
        }

        return roots;
    }

    /// <summary>SHA-256 of the certificate's DER bytes as upper-case hex, the form pins are compared in.</summary>
    public static string Fingerprint(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData()));
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        PresentedChain = chain?.ChainElements.Select(e => Describe(e.Certificate)).ToList()
            ?? (certificate is null ? [] : [Describe(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()))]);
        Failure = Check(certificate, chain, errors);
        return Failure is null;
    }

    private string? Check(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return $"the server {_host} sent no certificate";
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            var names = leaf.GetNameInfo(X509NameType.DnsName, forIssuer: false);
            return $"the server's certificate is for \"{names}\" ({leaf.Subject}), not for \"{_host}\". Set Outbox:Smtp:Host to a name the certificate holds";
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            var problem = CheckChainAgainstExtraRoots(leaf, chain);
            if (problem is not null)
            {
                return problem;
            }
        }

        if (_pins.Count > 0 && !_pins.Contains(Fingerprint(leaf)))
        {
            return $"the server's certificate (SHA-256 {Fingerprint(leaf)}) matches none of Outbox:Smtp:CertificatePins. If the server's certificate was renewed, add its new fingerprint";
        }

        return null;
    }

    private string? CheckChainAgainstExtraRoots(X509Certificate2 leaf, X509Chain? presented)
    {
        using var custom = new X509Chain();
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (_extraRoots.Count > 0)
        {
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_extraRoots);
        }

        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (custom.Build(leaf))
        {
            return null;
        }

        var flags = custom.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        if (flags.HasFlag(X509ChainStatusFlags.NotTimeValid))
        {
            return leaf.NotAfter.ToUniversalTime() < DateTime.UtcNow
                ? $"the server's certificate ({leaf.Subject}) expired on {leaf.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC. The server's administrator must renew it"
                : $"the server's certificate ({leaf.Subject}) is not valid before {leaf.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} UTC. Check this machine's clock";
        }

        if (flags.HasFlag(X509ChainStatusFlags.UntrustedRoot) || flags.HasFlag(X509ChainStatusFlags.PartialChain))
        {
            var where = _extraRoots.Count > 0 ? "the system store nor Outbox:Smtp:CaFile" : "the system store (and Outbox:Smtp:CaFile is not set)";
            return $"the server's certificate ({leaf.Subject}) was issued by \"{leaf.Issuer}\", a CA that neither {where} trusts. Put that CA's certificate (PEM) into the file Outbox:Smtp:CaFile names";
        }

        var details = string.Join("; ", custom.ChainStatus.Select(s => s.StatusInformation.Trim()));
        return $"the server's certificate ({leaf.Subject}) is not valid: {details}";
    }

    private static string Describe(X509Certificate2 certificate) =>
        $"{certificate.Subject} (issued by {certificate.Issuer}; valid {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd} to {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}; SHA-256 {Fingerprint(certificate)})";

    private static string NormalizePin(string pin) => pin.Replace(":", string.Empty, StringComparison.Ordinal).Trim().ToUpperInvariant();
}
