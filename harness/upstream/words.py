"""Word lists for the generated corpus: real vocabulary in five languages, no lorem ipsum.

Each language has function words (mixed in often so that language detection and
stop-word handling behave as on real pages), content words, people's names and the
labels a site's navigation and error pages use.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "nl", "es")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The words one language contributes to page text and boilerplate."""

    language: str
    function_words: tuple[str, ...]
    content_words: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    tlds: tuple[str, ...]
    sections: tuple[str, ...]
    nav: tuple[str, ...]  # home, about, news, contact, archive
    byline: str
    related: str
    rights: str
    privacy: str
    not_found_title: str
    not_found_text: str
    moved_title: str
    moved_text: str


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


VOCABULARIES: dict[str, Vocabulary] = {
    "en": Vocabulary(
        language="en",
        function_words=_words(
            "the of and to in a is that for it as was with be by on not he this are or "
            "his from at which but have an they you were her she there been one all "
            "we their has would when who will more if no out so said what up its about"
        ),
        content_words=_words(
            "city council market report water energy school river winter summer garden "
            "village history music festival museum library bridge harbour railway station "
            "government minister election budget tax policy health hospital doctor patient "
            "research science university student teacher book author novel poetry film "
            "theatre audience concert season league match player coach team goal victory "
            "weather storm rain forecast temperature climate forest mountain valley island "
            "coast beach ocean fishing farm harvest wheat coffee bread kitchen recipe dinner "
            "company business industry factory worker wages price inflation bank loan "
            "housing rent street traffic bicycle bus airport flight travel hotel tourist "
            "community volunteer charity church family children parents history century "
            "archive record photograph newspaper editor journalist interview statement "
            "network software computer internet website data privacy security device "
            "project plan proposal meeting committee decision public private local national "
            "regional annual new old small large important early late recent popular "
            "historic modern rural urban quiet busy green bright heavy light strong"
        ),
        first_names=_words(
            "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth "
            "William Susan Richard Jessica Thomas Sarah Charles Karen Daniel Emily"
        ),
        last_names=_words(
            "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Clark "
            "Lewis Walker Hall Allen Young King Wright Scott Green Baker"
        ),
        tlds=("com", "org", "co.uk", "net"),
        sections=("news", "blog", "stories", "reports", "events"),
        nav=("Home", "About us", "News", "Contact", "Archive"),
        byline="By",
        related="Related articles",
        rights="All rights reserved",
        privacy="Privacy policy",
        not_found_title="Page not found",
        not_found_text="Sorry, the page you are looking for does not exist or has been moved.",
        moved_title="Moved Permanently",
        moved_text="This document has moved to a new address.",
    ),
    "de": Vocabulary(
        language="de",
        function_words=_words(
            "der die und in den von zu das mit sich des auf für ist im dem nicht ein "
            "eine als auch es an werden aus er hat dass sie nach wird bei einer um am "
            "sind noch wie einem über einen so zum war haben nur oder aber vor zur bis"
        ),
        content_words=_words(
            "Stadt Gemeinde Markt Bericht Wasser Energie Schule Fluss Winter Sommer Garten "
            "Dorf Geschichte Musik Fest Museum Bibliothek Brücke Hafen Bahn Bahnhof "
            "Regierung Minister Wahl Haushalt Steuer Gesundheit Krankenhaus Arzt "
            "Forschung Wissenschaft Universität Studenten Lehrer Buch Autor Roman Film "
            "Theater Publikum Konzert Saison Liga Spiel Spieler Trainer Mannschaft Tor "
            "Wetter Sturm Regen Vorhersage Temperatur Klima Wald Berg Tal Insel Küste "
            "Strand Meer Landwirtschaft Ernte Weizen Kaffee Brot Küche Rezept Abendessen "
            "Unternehmen Wirtschaft Industrie Fabrik Arbeiter Löhne Preise Inflation Bank "
            "Wohnung Miete Straße Verkehr Fahrrad Flughafen Reise Hotel Urlaub Verein "
            "Kirche Familie Kinder Eltern Jahrhundert Archiv Zeitung Redaktion Interview "
            "Netzwerk Software Rechner Internet Webseite Daten Datenschutz Sicherheit "
            "Projekt Plan Vorschlag Sitzung Ausschuss Entscheidung öffentlich privat "
            "neue alte kleine große wichtige frühe späte beliebte moderne ländliche "
            "städtische ruhige grüne helle schwere starke gestern heute morgen jährlich"
        ),
        first_names=_words(
            "Anna Lukas Marie Leon Sophie Jonas Laura Felix Lena Paul Julia Maximilian "
            "Katharina Tobias Hannah Florian Lea Sebastian Clara Jan"
        ),
        last_names=_words(
            "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann "
            "Koch Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger"
        ),
        tlds=("de", "at"),
        sections=("nachrichten", "blog", "aktuelles", "berichte", "termine"),
        nav=("Startseite", "Über uns", "Aktuelles", "Kontakt", "Archiv"),
        byline="Von",
        related="Weitere Artikel",
        rights="Alle Rechte vorbehalten",
        privacy="Datenschutz",
        not_found_title="Seite nicht gefunden",
        not_found_text="Die gesuchte Seite existiert leider nicht oder wurde verschoben.",
        moved_title="Dauerhaft verschoben",
        moved_text="Dieses Dokument ist unter einer neuen Adresse zu finden.",
    ),
    "fr": Vocabulary(
        language="fr",
        function_words=_words(
            "le la les de des du et en un une est que qui dans pour pas sur au avec il "
            "elle ce se son sa ses par plus ne on mais ou comme nous vous leur tout "
            "aux été sont cette aussi bien sans entre deux après avant"
        ),
        content_words=_words(
            "ville conseil marché rapport eau énergie école rivière hiver été jardin "
            "village histoire musique festival musée bibliothèque pont port gare train "
            "gouvernement ministre élection budget impôt santé hôpital médecin patient "
            "recherche science université étudiant professeur livre auteur roman film "
            "théâtre public concert saison championnat match joueur entraîneur équipe "
            "météo tempête pluie prévision température climat forêt montagne vallée île "
            "côte plage mer pêche ferme récolte blé café pain cuisine recette dîner "
            "entreprise économie industrie usine ouvrier salaire prix inflation banque "
            "logement loyer rue circulation vélo aéroport voyage hôtel touriste quartier "
            "association église famille enfants parents siècle archives journal "
            "rédaction entretien réseau logiciel ordinateur internet données sécurité "
            "projet plan proposition réunion commission décision publique privée locale "
            "nationale régionale nouvelle ancienne petite grande importante récente "
            "populaire historique moderne rurale calme verte claire forte hier aujourd'hui"
        ),
        first_names=_words(
            "Camille Louis Chloé Hugo Manon Lucas Léa Gabriel Inès Arthur Jade Jules "
            "Louise Nathan Alice Raphaël Emma Théo Sarah Adam"
        ),
        last_names=_words(
            "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau "
            "Simon Laurent Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier"
        ),
        tlds=("fr", "be"),
        sections=("actualites", "blog", "articles", "dossiers", "agenda"),
        nav=("Accueil", "À propos", "Actualités", "Contact", "Archives"),
        byline="Par",
        related="Articles similaires",
        rights="Tous droits réservés",
        privacy="Politique de confidentialité",
        not_found_title="Page introuvable",
        not_found_text="Désolé, la page que vous cherchez n'existe pas ou a été déplacée.",
        moved_title="Déplacé de façon permanente",
        moved_text="Ce document a été déplacé vers une nouvelle adresse.",
    ),
    "nl": Vocabulary(
        language="nl",
        function_words=_words(
            "de het een en van in is dat op te zijn voor met die niet aan er om ook als "
            "bij of nog door maar dan naar wordt over uit worden tot deze al hij zij we "
            "meer kan geen wel werd hun heeft waren"
        ),
        content_words=_words(
            "stad gemeente markt verslag water energie school rivier winter zomer tuin "
            "dorp geschiedenis muziek festival museum bibliotheek brug haven spoor station "
            "regering minister verkiezing begroting belasting gezondheid ziekenhuis arts "
            "onderzoek wetenschap universiteit student leraar boek schrijver roman film "
            "theater publiek concert seizoen competitie wedstrijd speler trainer ploeg "
            "weer storm regen verwachting temperatuur klimaat bos berg dal eiland kust "
            "strand zee visserij boerderij oogst tarwe koffie brood keuken recept diner "
            "bedrijf economie industrie fabriek arbeider loon prijzen inflatie bank "
            "woning huur straat verkeer fiets vliegveld reis hotel toerist wijk "
            "vereniging kerk gezin kinderen ouders eeuw archief krant redactie interview "
            "netwerk software computer internet website gegevens beveiliging "
            "project plan voorstel vergadering commissie besluit openbare particuliere "
            "lokale nationale nieuwe oude kleine grote belangrijke recente populaire "
            "historische moderne landelijke stille groene heldere sterke gisteren vandaag"
        ),
        first_names=_words(
            "Emma Daan Julia Sem Tess Lucas Sophie Levi Zoë Finn Mila Noah Sara Bram "
            "Anna Jesse Eva Thijs Lotte Ruben"
        ),
        last_names=_words(
            "Jansen Visser Smit Meijer Mulder Bos Vos Peters Hendriks Bakker Dekker "
            "Brouwer Willems Koster Prins Maas Kok Jacobs Vermeulen Kramer"
        ),
        tlds=("nl", "be"),
        sections=("nieuws", "blog", "artikelen", "verhalen", "agenda"),
        nav=("Home", "Over ons", "Nieuws", "Contact", "Archief"),
        byline="Door",
        related="Gerelateerde artikelen",
        rights="Alle rechten voorbehouden",
        privacy="Privacyverklaring",
        not_found_title="Pagina niet gevonden",
        not_found_text="Sorry, de pagina die u zoekt bestaat niet of is verplaatst.",
        moved_title="Permanent verplaatst",
        moved_text="Dit document is verplaatst naar een nieuw adres.",
    ),
    "es": Vocabulary(
        language="es",
        function_words=_words(
            "el la los las de del y en un una es que por con para no se su sus al lo "
            "como más pero o este esta ya entre cuando todo también fue ha sido sobre "
            "desde muy sin hasta donde hay nos porque"
        ),
        content_words=_words(
            "ciudad ayuntamiento mercado informe agua energía escuela río invierno verano "
            "jardín pueblo historia música festival museo biblioteca puente puerto "
            "estación gobierno ministro elecciones presupuesto impuesto salud hospital "
            "médico investigación ciencia universidad estudiante profesor libro autor "
            "novela película teatro público concierto temporada liga partido jugador "
            "entrenador equipo tiempo tormenta lluvia previsión temperatura clima bosque "
            "montaña valle isla costa playa mar pesca granja cosecha trigo café pan "
            "cocina receta cena empresa economía industria fábrica trabajador salario "
            "precios inflación banco vivienda alquiler calle tráfico bicicleta aeropuerto "
            "viaje hotel turista barrio asociación iglesia familia niños padres siglo "
            "archivo periódico redacción entrevista red programa ordenador internet datos "
            "seguridad proyecto plan propuesta reunión comisión decisión pública privada "
            "local nacional regional nueva antigua pequeña grande importante reciente "
            "popular histórica moderna rural tranquila verde clara fuerte ayer hoy"
        ),
        first_names=_words(
            "Lucía Hugo Martina Martín Sofía Pablo María Daniel Julia Alejandro Paula "
            "Álvaro Valeria Adrián Emma Diego Carmen Javier Laura Mateo"
        ),
        last_names=_words(
            "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez "
            "Martín Jiménez Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Navarro"
        ),
        tlds=("es", "mx"),
        sections=("noticias", "blog", "articulos", "reportajes", "agenda"),
        nav=("Inicio", "Quiénes somos", "Noticias", "Contacto", "Archivo"),
        byline="Por",
        related="Artículos relacionados",
        rights="Todos los derechos reservados",
        privacy="Política de privacidad",
        not_found_title="Página no encontrada",
        not_found_text="Lo sentimos, la página que busca no existe o ha sido trasladada.",
        moved_title="Movido permanentemente",
        moved_text="Este documento se ha trasladado a una nueva dirección.",
    ),
}
