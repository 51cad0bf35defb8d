"""Words that carry evidence on business documents, in en, de, fr, es, it, nl, pt and ms.

Compared against *squashed* text (lower case, accents and everything but letters and
digits removed), so that OCR's glued words ("MontantTTC", "TotalwithGST@6%") still
match. Kept as data: the engine's code says how evidence is weighed, this says what
it looks like in each language.
"""

from __future__ import annotations

import re
import unicodedata

# The amount to pay, in the row or column header that names it.
PAY_WORDS = ("amountdue", "balancedue", "totaldue", "grandtotal", "totalamount", "amountpayable",
             "totalpayable", "totaltopay", "apagar", "apayer", "aregler", "ttc", "zuzahlen",
             "gesamtbetrag", "endbetrag", "rechnungsbetrag", "totalapagar", "importetotal",
             "totaldafattura", "totaledapagare", "dapagare", "tebetalen", "totaalbedrag",
             "valortotal", "totalapagar", "jumlahbesar", "jumlahperlu", "nettotalpayable",
             "totalincl", "totalinc", "inclvat", "incltax", "inclgst", "totalwith", "inkl",
             "roundedtotal", "totalrounded", "totalsales")
TOTAL_WORDS = ("total", "summe", "gesamt", "totale", "totaal", "importe", "jumlah", "montant",
               "amount", "bedrag", "betrag", "valor")
# Words that make a tax-naming row the amount with tax ("Total Sales (Inclusive of GST)").
INCLUSIVE_WORDS = ("ttc", "incl", "inkl", "with", "apayer", "inclusive", "including", "inklusive",
                   "incluido", "incluso", "inclusief", "compris")
# Amounts that are not the total even when the row says "total".
NOT_TOTAL_WORDS = ("subtotal", "soustotal", "zwischensumme", "subtotale", "subtotaal", "ht",
                   "horstaxe", "untaxed", "excl", "excluding", "exclusive", "exkl", "netto", "tax",
                   "tva", "gst", "vat",
                   "mwst", "ust", "iva", "btw", "sst", "taxe", "rounding", "arrondi", "saving",
                   "discount", "remise", "rabatt", "descuento", "sconto", "korting", "desconto",
                   "change", "cash", "tender", "rendu", "monnaie", "wechselgeld", "cambio",
                   "resto", "wisselgeld", "troco", "baki", "tunai", "qty", "quantity", "item",
                   "base", "deposit", "paid", "card", "visa", "mastercard", "points", "unit")
INVOICE_WORDS = ("invoice", "facture", "rechnung", "factura", "fattura", "factuur", "fatura",
                 "invois", "bill", "resit", "receipt", "nota", "ticket", "bon")
NUMBER_WORDS = ("number", "no", "nr", "num", "numero", "nummer", "n", "ref", "reference", "id")
# Numbers near these are some other identifier.
OTHER_ID_WORDS = ("bc", "po", "order", "commande", "bestell", "pedido", "ordine", "bestelling",
                  "encomenda", "client", "customer", "kunde", "cliente", "klant", "account",
                  "compte", "konto", "cuenta", "conto", "rekening", "conta", "iban", "swift",
                  "bic", "tel", "phone", "fax", "tva", "vat", "gst", "siret", "siren", "ust",
                  "steuer", "nif", "cif", "piva", "kvk", "nipc", "cashier", "table", "affaire",
                  "contract", "contrat", "vertrag", "member", "card", "reg", "roc", "ssm", "sst")
DATE_WORDS = ("date", "datum", "fecha", "data", "tarikh", "dated", "issued", "emission")
OTHER_DATE_WORDS = ("due", "echeance", "faellig", "fallig", "vencimiento", "scadenza", "vervaldatum",
                    "vencimento", "avant", "before", "until", "expiry", "expires", "birth",
                    "naissance", "geburt", "livraison", "delivery", "lieferung", "entrega",
                    "consegna", "levering", "start", "end", "period", "from", "to", "regler")
CUSTOMER_WORDS = ("billto", "billedto", "invoiceto", "soldto", "shipto", "deliverto", "customer",
                  "client", "facturea", "facturea", "envoyea", "livrea", "adressedefacturation",
                  "adressedelivraison", "rechnungsempfanger", "rechnungsadresse", "lieferadresse",
                  "kunde", "facturara", "cliente", "destinatario", "fatturatoa", "klant",
                  "factuuradres", "afleveradres", "faturadoa", "buyer", "acheteur", "kaufer",
                  "comprador", "acquirente", "koper", "pembeli", "recipient", "destinataire",
                  "empfanger", "consignee", "shippingaddress", "billingaddress", "soldto",
                  "adressedulclient", "informationclient", "clientinformation")
ISSUER_WORDS = ("from", "seller", "vendor", "supplier", "issuedby", "soldby", "fournisseur",
                "vendeur", "emetteur", "lieferant", "verkaufer", "proveedor", "vendedor",
                "fornitore", "venditore", "leverancier", "verkoper", "fornecedor", "penjual",
                "pembekal", "remitto", "payableto", "emisor")
# Registration, tax and bank details: printed with the issuer's own block, not the customer's.
REGISTRATION_WORDS = ("vat", "tva", "siret", "siren", "rcs", "ape", "naf", "iban", "bic", "swift",
                      "gst", "sst", "ust", "ustid", "mwst", "steuernr", "hrb", "nif", "cif", "nipc",
                      "piva", "partitaiva", "kvk", "btw", "abn", "ein", "taxid", "regno", "coreg",
                      "companyno", "registration", "roc", "ssm")
COMPANY_SUFFIXES = ("ltd", "limited", "llc", "inc", "corp", "corporation", "co", "company", "gmbh",
                    "ag", "kg", "ohg", "ug", "sarl", "sas", "sasu", "sa", "eurl", "srl", "spa",
                    "snc", "bv", "nv", "vof", "sl", "slu", "lda", "ltda", "pty", "plc", "sdn",
                    "bhd", "berhad", "enterprise", "enterprises", "trading", "holdings", "group",
                    "store", "shop", "mart", "market", "supermarket", "restaurant", "cafe",
                    "bakery", "pharmacy", "hotel", "services", "industries", "plt", "tbk", "pte")
STREET_WORDS = ("street", "road", "avenue", "drive", "lane", "boulevard", "blvd", "highway",
                "jalan", "lorong", "persiaran", "taman", "plaza", "floor", "suite", "building",
                "bangunan", "strasse", "gasse", "platz", "allee", "calle", "avenida", "plaza",
                "paseo", "carrer", "piazza", "viale", "corso", "straat", "laan", "plein",
                "gracht", "rua", "travessa", "praca", "chemin", "impasse", "boulevard",
                "industrial", "kawasan", "bandar", "court", "square", "parkway", "way")
STREET_TOKENS = ("st", "rd", "dr", "ave", "av", "ln", "jln", "lot", "unit", "no", "rue", "via",
                 "weg", "str", "bd", "pl", "blk", "block", "km")
CONTACT_WORDS = ("tel", "phone", "fax", "email", "mail", "www", "http", "gst", "vat", "tva",
                 "regno", "reg", "coreg", "siret", "iban", "swift", "bic", "ust", "mwst",
                 "taxid", "nif", "hp", "mobile", "website")
# Words that mark a document's language (for day-first dates and currency hints).
LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "fr": ("facture", "montant", "tva", "total ttc", "date", "echeance", "quantite", "prix"),
    "de": ("rechnung", "betrag", "datum", "mwst", "summe", "menge", "preis", "gesamt"),
    "es": ("factura", "importe", "fecha", "cantidad", "precio", "iva"),
    "it": ("fattura", "importo", "data", "quantita", "prezzo", "totale"),
    "nl": ("factuur", "bedrag", "datum", "aantal", "prijs", "btw", "totaal"),
    "pt": ("fatura", "valor", "data", "quantidade", "preco", "iva"),
    "ms": ("jumlah", "tarikh", "resit", "terima kasih", "jalan", "sdn bhd", "bhd", "cukai",
           "taman", "kedai", "harga", "tunai", "baki"),
    "en": ("invoice", "amount", "date", "quantity", "price", "total", "thank you", "receipt"),
}
# Currency evidence: a pattern over the raw text → ISO 4217 code.
CURRENCY_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"€|\beur\b|\beuros?\b", "EUR"), (r"£|\bgbp\b|\bpounds?\b", "GBP"),
    (r"\bs\$|\bsgd\b", "SGD"), (r"\brm\s?\d|\brm\b|\bmyr\b|\bringgit\b", "MYR"),
    (r"(?<![a-z])\$|\busd\b|\bdollars?\b", "USD"), (r"\bchf\b|\bfr\.\s?\d", "CHF"),
    (r"¥|\bjpy\b|\byen\b", "JPY"), (r"₹|\binr\b|\brs\.?\s?\d", "INR"), (r"\bcad\b", "CAD"),
    (r"\baud\b", "AUD"), (r"\bsek\b", "SEK"), (r"\bnok\b", "NOK"), (r"\bdkk\b", "DKK"),
    (r"\bpln\b|zł", "PLN"), (r"\bidr\b|\brp\.?\s?\d", "IDR"), (r"\bthb\b|฿", "THB"),
    (r"\bbrl\b|r\$", "BRL"), (r"\bmxn\b", "MXN"), (r"\bcny\b|\brmb\b|元", "CNY"),
)
# A document that names no currency is most likely in its language's main one.
LOCALE_CURRENCIES = {"fr": "EUR", "de": "EUR", "es": "EUR", "it": "EUR", "nl": "EUR", "pt": "EUR",
                     "ms": "MYR"}
# Where no date in the document settles it, these currencies' countries write the day first.
DAY_FIRST_CURRENCIES = ("EUR", "GBP", "MYR", "SGD", "INR", "AUD", "CHF", "IDR", "THB", "BRL",
                        "SEK", "NOK", "DKK", "PLN", "MXN")


def squash(text: str) -> str:
    """Lower case, accents off, only letters and digits: how labels are compared."""
    plain = unicodedata.normalize("NFKD", text.lower())
    return re.sub(r"[^a-z0-9]+", "", "".join(ch for ch in plain if not unicodedata.combining(ch)))


def words_of(text: str) -> list[str]:
    """Lower-case, accent-free runs of letters ("3575BuenaVistaAvenue" → ["buenavistaavenue"])."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return re.findall(r"[a-z]+", plain)


def has_any(squashed: str, words: tuple[str, ...]) -> bool:
    return any(word in squashed for word in words)


def has_word(text: str, words: tuple[str, ...]) -> bool:
    """One of `words` as a whole letter run (for short words that occur inside others)."""
    return any(word in words for word in words_of(text))


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_JOINERS = frozenset((*TOTAL_WORDS, *DATE_WORDS, *INVOICE_WORDS, "with", "incl", "net", "sub"))


def mentions(text: str, words: tuple[str, ...]) -> bool:
    """Whether `text` names one of `words`: long words anywhere, short ones as whole words.

    OCR glues words ("TotalHT", "TOTALTTC"): a short word also counts at either end of a
    letter run whose rest is a known label word.
    """
    squashed = squash(text)
    runs = words_of(_CAMEL.sub(" ", text))
    for word in words:
        if len(word) >= 5 and word in squashed:
            return True
        for run in runs:
            if run == word or (len(run) > len(word) and (
                    (run.endswith(word) and run[:-len(word)] in _JOINERS)
                    or (run.startswith(word) and run[len(word):] in _JOINERS))):
                return True
    return False


# Line-item column headers, squashed, by the column's role. "tax" and "other" columns (unit,
# reference, discount) are named so that their values are not read as an item property.
COLUMN_WORDS: dict[str, tuple[str, ...]] = {
    "description": ("description", "descriptif", "designation", "libelle", "article", "articles",
                    "item", "items", "product", "products", "produit", "produits", "produkt",
                    "service", "services", "details", "detail", "particulars", "bezeichnung",
                    "beschreibung", "artikel", "leistung", "descripcion", "concepto", "articulo",
                    "producto", "descrizione", "articolo", "prodotto", "omschrijving",
                    "beschrijving", "descricao", "produto", "keterangan", "perkara", "butiran"),
    "quantity": ("quantity", "qty", "quantite", "qte", "menge", "anzahl", "cantidad", "cant",
                 "quantita", "qta", "aantal", "quantidade", "qtd", "kuantiti", "hours", "hrs",
                 "heures", "units", "pcs", "stk", "nombre"),
    "unit_price": ("unitprice", "priceunit", "price", "prix", "prixunitaire", "prixunit", "pu",
                   "rate", "taux", "unitcost", "cost", "each", "einzelpreis", "preis",
                   "stuckpreis", "precio", "preciounitario", "prezzo", "prezzounitario", "prijs",
                   "stukprijs", "eenheidsprijs", "preco", "precounitario", "harga", "tarif"),
    "amount": ("amount", "montant", "total", "soustotal", "subtotal", "linetotal", "betrag",
               "gesamt", "gesamtpreis", "summe", "importe", "importo", "totale", "bedrag",
               "totaal", "valor", "jumlah", "sum", "amt", "extended", "value"),
    "tax": ("tax", "taxes", "tva", "vat", "gst", "mwst", "ust", "iva", "btw", "sst"),
    "other": ("unit", "unite", "unites", "uom", "einheit", "unidad", "ref", "reference",
              "referenz", "referencia", "riferimento", "code", "sku", "remise", "discount",
              "rabatt", "descuento", "sconto", "korting", "desconto"),
    # Qualifiers that belong to the word before them ("Prix unitaire HT", "Total TTC").
    "modifier": ("ht", "ttc", "eht", "excl", "incl", "horstaxe", "hors", "unitaire", "uni",
                 "unitario", "eur", "usd", "net", "netto", "brutto"),
}
