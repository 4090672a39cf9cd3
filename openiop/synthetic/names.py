"""Word lists for fictional people. Combined at random, they describe no real person."""

FEMALE_FIRST = tuple(
    """
    Alicia Amara Ana Beatriz Brianna Camila Carmen Chloe Dana Daniela Elena Emily Erin
    Fatima Gabriela Grace Hana Imani Isabel Jada Jasmine Jenna Julia Kayla Keiko Lauren Leah
    Lena Linh Lucia Maya Mei Mia Monique Nadia Naomi Nia Olivia Paloma Priya Rachel Rosa
    Sara Selena Sofia Tamara Tanya Valeria Vanessa Whitney Ximena Yesenia Zoe
""".split()
)

MALE_FIRST = tuple(
    """
    Aaron Adrian Ahmed Andre Andrew Anthony Arjun Ben Brandon Caleb Carlos Cody Darius David
    Diego Dmitri Eli Eric Ethan Felipe Gabriel Hector Hiro Ian Isaac Jamal Jason Javier
    Jesse Jordan Jose Kevin Kwame Liam Lucas Luis Malik Marcus Mateo Miguel Nathan Omar
    Oscar Pedro Rafael Ryan Samuel Tariq Thomas Tyler Victor Wesley Xavier Yusuf Zach
""".split()
)

NEUTRAL_FIRST = tuple(
    """
    Alex Avery Casey Jamie Jordan Kai Morgan Quinn Riley Rowan Sage Skyler Taylor
""".split()
)

LAST = tuple(
    """
    Abara Acosta Adams Aguilar Alvarez Anderson Armstrong Bautista Bell Bennett Brooks Bui
    Caldwell Campos Carter Castillo Chavez Chen Choi Coleman Cruz Daniels Delgado Diaz
    Dominguez Edwards Espinoza Estrada Fischer Flores Foster Garcia Gomez Gonzalez Green
    Gutierrez Hall Harris Hayes Hernandez Hoang Holland Huang Hughes Ibarra Jackson Jenkins
    Jimenez Johnson Kang Kaur Kelly Khan Kim Lambert Le Lee Lopez Lozano Marquez Martin
    Martinez Medina Mendoza Meyer Miller Mitchell Molina Morales Moreno Nakamura Navarro
    Nguyen Novak Okafor Okoye Ortega Ortiz Owens Pacheco Park Patel Pena Perez Pham Phillips
    Quintero Ramirez Ramos Reed Reyes Rios Rivera Robinson Rodriguez Romero Rosales Ruiz
    Salazar Sanchez Santos Schmidt Shah Silva Singh Soto Stewart Suarez Sullivan Tanaka
    Torres Tran Turner Valdez Vargas Vasquez Vega Walker Ward Washington Watson Williams
    Wong Wright Yamamoto Young Zamora
""".split()
)

STREETS = tuple(
    """
    Alder Birch Cedar Cypress Elm Hillcrest Juniper Laurel Magnolia Maple Mesa Oak Orchard
    Palm Pine Poplar Redwood Ridge Sage Sierra Spruce Sycamore Valley Willow
""".split()
)

STREET_KINDS = tuple(
    """
    St Ave Rd Dr Ln Way Ct Blvd
""".split()
)

CITIES = (
    ("Corona", "CA", "928"),
    ("Riverside", "CA", "925"),
    ("Norco", "CA", "928"),
    ("Eastvale", "CA", "917"),
    ("Ontario", "CA", "917"),
    ("Chino", "CA", "917"),
    ("Temescal Valley", "CA", "928"),
    ("Jurupa Valley", "CA", "925"),
)

AREA_CODES = ("951", "909", "714", "562", "626")

LANGUAGES = (
    ("English", 80),
    ("Spanish", 14),
    ("Vietnamese", 2),
    ("Tagalog", 2),
    ("Korean", 1),
    ("Arabic", 1),
)

RELATIONSHIPS = (
    "Mother",
    "Father",
    "Sister",
    "Brother",
    "Partner",
    "Spouse",
    "Friend",
    "Aunt",
    "Sponsor",
    "Adult child",
)
