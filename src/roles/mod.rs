//! ISMS roles (clause 5.3): the register, appointments and their
//! acceptance, and the RACI matrix.
pub mod model;
pub mod raci;
pub mod routes;
pub mod starter;

pub use routes::routes;
